"""Where market data comes from: ``demo`` (synthetic bars), ``catalog`` (curated Kaggle
datasets), ``kaggle`` (search, download, file selection) and ``reference`` (a
``--dataset`` value parsed into a typed reference). Nothing here registers or resolves a
dataset: that is ``ssots.services.datasets``."""
