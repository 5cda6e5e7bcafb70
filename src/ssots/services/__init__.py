"""Use cases: what the CLI, the API and the job worker call.

- ``datasets``: resolve a dataset reference to data, fetch from Kaggle, register files and
  uploads.
- ``training``: load a run's data, run the pure pipeline, write the weights document.
"""
