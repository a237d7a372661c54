"""The tiny Dolly family: its generated data, tokenizer, training and scoring."""
