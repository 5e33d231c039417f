"""Start from what a team already has (a dataset, an MLflow model, a Hugging Face card, a CycloneDX BOM)
and hand back what the ecosystem reads (a CycloneDX ML-BOM, a Hugging Face model card)."""
