"""One module per aggregate; each function takes an open connection and never commits."""
