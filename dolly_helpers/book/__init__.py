"""Tools that regenerate and build the book: papermill runs per size, notebook cleaning, the site."""
