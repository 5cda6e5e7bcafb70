"""SSO-TS: interpretable Q-score models for crypto trading strategies."""
