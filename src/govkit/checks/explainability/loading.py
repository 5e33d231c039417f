"""Model intake, security first: a model file is data until proven otherwise.

skops files load with only scikit-learn and NumPy types trusted; LightGBM native model files
load through LightGBM's own parser. Pickle and joblib can execute code when loaded, so they are
refused unless the user passes --trust-model, and the evaluation records that they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govkit.errors import GovkitError
from govkit.manifest import LoadedManifest

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
LIGHTGBM_SUFFIXES = (".lgb", ".lgbm")


@dataclass(frozen=True)
class LoadedModel:
    model: Any
    loaded_with: str
    trusted_by_flag: bool


class OnnxModel:
    """An ONNX classifier behind predict/predict_proba, so the permutation explainer can call it."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        width = session.get_inputs()[0].shape[-1]
        if isinstance(width, int):
            self.n_features_in_ = width

    def _run(self, X: Any) -> list[Any]:
        import numpy as np

        return self.session.run(None, {self.input: np.asarray(X, dtype=np.float32)})

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        outputs = self._run(X)
        probs = outputs[-1]
        if isinstance(probs, list):  # skl2onnx's default ZipMap output: one {class: p} dict per row
            probs = np.asarray([[row[k] for k in sorted(row)] for row in probs])
        return np.asarray(probs, dtype=float)

    def predict(self, X: Any) -> Any:
        return self._run(X)[0]


def _refuse(manifest: LoadedManifest, message: str) -> GovkitError:
    return manifest.error(message, ("model", "artifact"))


def load_model(manifest: LoadedManifest, *, trust_model: bool) -> LoadedModel:
    artifact = manifest.spec.model.artifact
    if artifact is None:
        raise _refuse(manifest, "explainability needs the model file (model.artifact)")
    path = manifest.resolve(artifact)
    if not path.is_file():
        raise _refuse(manifest, f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".skops":
        return _skops(manifest, path, trust_model)
    if suffix in PICKLE_SUFFIXES:
        if not trust_model:
            raise _refuse(manifest, f"{path.name} is a pickle, which runs code when loaded; refused. Save the model "
                                    "with skops, or pass --trust-model if you trust this file")
        import joblib

        return LoadedModel(joblib.load(path), "joblib/pickle (trusted by --trust-model)", True)
    if suffix == ".onnx":
        try:
            import onnxruntime
        except ImportError:
            raise _refuse(manifest, "ONNX models need the onnxruntime package (pip install onnxruntime)") from None
        try:
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
            raise _refuse(manifest, f"not a loadable ONNX model: {str(exc).splitlines()[0]}") from None
        return LoadedModel(OnnxModel(session), "onnx (onnxruntime)", False)
    if suffix in LIGHTGBM_SUFFIXES:
        try:
            import lightgbm
        except ImportError:
            raise _refuse(manifest, "LightGBM model files need the lightgbm package (pip install lightgbm)") from None
        return LoadedModel(lightgbm.Booster(model_file=str(path)), "lightgbm", False)
    raise _refuse(manifest, f"unsupported model format {suffix!r} (supported: .skops; .onnx with onnxruntime; "
                            ".lgb with lightgbm; .pkl/.joblib with --trust-model)")


def _skops(manifest: LoadedManifest, path: Path, trust_model: bool) -> LoadedModel:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged archive fails in zipfile, json or skops itself
        raise _refuse(manifest, f"not a readable skops file: {exc}") from None
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign and not trust_model:
        raise _refuse(manifest, f"model file contains types govkit does not trust: {', '.join(foreign[:5])} "
                                "(pass --trust-model if you trust this file)")
    how = "skops (types trusted by --trust-model)" if foreign else "skops (scikit-learn and NumPy types only)"
    return LoadedModel(sio.load(path, trusted=untrusted), how, bool(foreign))
