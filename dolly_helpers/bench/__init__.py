"""Speed benchmarks of the helpers against the way the original article ran Dolly.

``python -m dolly_helpers.bench cpu`` (``make bench``) times the tiny family on this machine's
CPU; ``python -m dolly_helpers.bench gpu`` times the Dolly sizes on a GPU. The numbers go into
``runs/`` for the book to show.
"""
