"""SME digital credit: alternative data, point-in-time features, models, explanations."""
