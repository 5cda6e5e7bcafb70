"""Use cases shared by the CLI and the job workers: datasets (resolve, fetch, register)
and training (load, run the pipeline, write the weights document)."""
