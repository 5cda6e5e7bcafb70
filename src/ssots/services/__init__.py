"""Use cases: what the CLI and the job worker (and the API) call. ``datasets``: resolve a
dataset reference to data, fetch from Kaggle, register files and uploads."""
