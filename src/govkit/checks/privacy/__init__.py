"""Privacy: PII in datasets, protected attributes and their proxies among features, k-anonymity."""
