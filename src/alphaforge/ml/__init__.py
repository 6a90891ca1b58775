"""Machine learning done honestly: causal features, labels, purged cross-validation, models
and a versioned registry. Only out-of-sample results are reported."""
