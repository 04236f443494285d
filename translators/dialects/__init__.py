"""One codec per client/upstream dialect."""
