"""Explainability: SHAP attributions with the explainer that fits the model, within a time budget."""
