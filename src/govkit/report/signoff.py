"""Officer sign-off: self-made signer certificates, PAdES signatures (pyHanko), and validation."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from govkit.errors import GovkitError
from govkit.formats.common import printable
from govkit.identity import plain_text

if TYPE_CHECKING:  # imported where used, so the CLI starts fast
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509

Decision = Literal["approve", "reject", "approve-with-conditions"]
SignerAlgorithm = Literal["rsa-3072", "ecdsa-p256"]


def make_signer_certificate(
    name: str, email: str | None, out_dir: Path, *, algorithm: SignerAlgorithm = "rsa-3072", days: int = 730
) -> tuple[Path, Path]:
    """A self-signed document-signing certificate for organisations without a PKI.

    RSA-3072 by default: ECDSA signatures make pyHanko mark the file as PDF 2.0, which a PDF/A-3
    document must not be.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(65537, 3072) if algorithm == "rsa-3072" else ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    subject = x509.Name(attrs)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "signer"
    key_path, cert_path = out_dir / f"{slug}.key.pem", out_dir / f"{slug}.cert.pem"
    if key_path.exists() or cert_path.exists():
        raise GovkitError("signer key or certificate already exists", file=key_path)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _load_certificate(cert_path: Path) -> x509.Certificate:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(cert_path.read_bytes())
    except FileNotFoundError:
        raise GovkitError("certificate not found", file=cert_path) from None
    except ValueError as exc:
        raise GovkitError(f"not a PEM certificate: {exc}", file=cert_path) from None


def certificate_sha256(cert_path: Path) -> str:
    from cryptography.hazmat.primitives import hashes

    return _load_certificate(cert_path).fingerprint(hashes.SHA256()).hex()


def validity_problem(not_before: dt.datetime, not_after: dt.datetime, at: dt.datetime) -> str | None:
    """Why a certificate is not valid at `at` (aware datetimes), or None."""
    if at < not_before:
        return f"not valid before {not_before.isoformat()}"
    if at > not_after:
        return f"expired {not_after.isoformat()}"
    return None


def check_signer(key_path: Path, cert_path: Path, name: str, email: str, at: dt.datetime) -> None:
    """Refuse a sign-off before anything is logged: the key must belong to the certificate, the
    certificate must be valid now, and name and e-mail must be the certificate's subject."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    cert = _load_certificate(cert_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise GovkitError("signing key not found", file=key_path) from None
    except (ValueError, TypeError) as exc:
        raise GovkitError(f"cannot load the signing key (PEM, unencrypted): {exc}", file=key_path) from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise GovkitError(f"this key does not belong to the certificate {cert_path}", file=key_path)
    problem = validity_problem(cert.not_valid_before_utc, cert.not_valid_after_utc, at)
    if problem:
        raise GovkitError(f"certificate {problem}", file=cert_path)
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    emails = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    with contextlib.suppress(x509.ExtensionNotFound):
        alt_names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails += alt_names.get_values_for_type(x509.RFC822Name)
    if plain_text(name) not in {plain_text(str(n)) for n in names}:
        shown = ", ".join(map(str, names)) or "no common name"
        raise GovkitError(f"signer name {name!r} is not the certificate's subject ({shown})", field="--signer")
    if plain_text(email) not in {plain_text(str(e)) for e in emails}:
        shown = ", ".join(map(str, emails)) or "it names no e-mail address"
        raise GovkitError(f"signer e-mail {email!r} is not in the certificate ({shown})", field="--signer")


SIGNATURE_AREA = "govkit-signatures"  # the id of the reserved area on the report's sign-off page
STAMP_COLUMNS, STAMP_ROWS, STAMP_HEIGHT, STAMP_GAP, STAMP_LINE = 2, 3, 64.0, 8.0, 90  # fits 80 mm
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


def _named_destination(reader: Any, name: str) -> tuple[Any, float, float] | None:
    """(page reference, left, top) of a named destination (weasyprint writes one per element id)."""
    names = reader.root.get("/Names")
    tree = names.get("/Dests") if names is not None else None
    stack, seen = ([tree] if tree is not None else []), 0
    while stack and seen < 10_000:  # bounded: a hostile name tree cannot loop forever
        node = stack.pop().get_object()
        seen += 1
        stack.extend(node.get("/Kids", ()))
        pairs = list(node.get("/Names", ()))
        for key, value in zip(pairs[::2], pairs[1::2], strict=False):
            if str(key) == name:
                dest = value.get_object()
                array = dest["/D"] if hasattr(dest, "keys") else dest
                if len(array) >= 4 and str(array[1]) == "/XYZ":
                    return array.raw_get(0), float(array[2]), float(array[3])
    return None


def _stamp_box(reader: Any, position: int) -> tuple[int, tuple[int, int, int, int]] | None:
    """Page index and box of the `position`-th signature (1-based) in the report's signature area,
    or None when the file has no such area or it is full (the signature is then invisible)."""
    found = _named_destination(reader, SIGNATURE_AREA)
    if found is None:
        return None
    page_ref, left, top = found
    count = int(reader.root["/Pages"]["/Count"])
    for index in range(count):
        ref, _ = reader.find_page_for_modification(index)
        if ref.idnum != page_ref.idnum:
            continue
        page = ref.get_object()
        box = [float(v) for v in page["/MediaBox"]]
        width = (box[2] - 2 * left - (STAMP_COLUMNS - 1) * STAMP_GAP) / STAMP_COLUMNS
        row, column = divmod(position - 1, STAMP_COLUMNS)
        if row >= STAMP_ROWS:
            return None
        x1 = left + column * (width + STAMP_GAP)
        y2 = top - row * (STAMP_HEIGHT + STAMP_GAP)
        if y2 - STAMP_HEIGHT < box[1] + 36:  # keep clear of the bottom margin
            return None
        return index, (round(x1), round(y2 - STAMP_HEIGHT), round(x1 + width), round(y2))
    return None


def appearance_font() -> str:
    """The font file for signature appearances; checked before a sign-off is logged.

    An embedded font keeps the file PDF/A (pyHanko's base-14 fallback would not) and shows any
    script a signer's name is written in.
    """
    try:
        import pyhanko.pdf_utils.font.opentype  # noqa: F401  (needs uharfbuzz and fontTools)
    except ImportError:
        raise GovkitError("signature appearances need pyHanko's opentype extra: pip install 'govkit[pdf]'") from None
    font = next((f for f in FONT_CANDIDATES if Path(f).is_file()), None)
    if font is None:
        raise GovkitError("no DejaVu Sans font for the signature appearance: install fonts-dejavu-core")
    return font


def _font_for(lines: Sequence[str], folder: Path) -> Path:
    """The appearance font cut down to the characters used and scaled to 1000 units per em.

    pyHanko 0.38 writes glyph widths in font units as if every font had 1000 units per em;
    DejaVu has 2048, and its glyphs came out spread over twice their width.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # notes on tables it drops from the subset
    font = TTFont(appearance_font())
    subsetter = subset.Subsetter(subset.Options(name_IDs=["*"], notdef_outline=True))
    subsetter.populate(text="".join(lines) + " …")
    subsetter.subset(font)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    out = folder / "appearance.ttf"
    font.save(str(out))
    return out


def _stamp_style(lines: Sequence[str], folder: Path) -> tuple[Any, dict[str, str]]:
    """A bordered text stamp; the text goes in as parameters, so a '%' in user text is inert."""
    from pyhanko import stamp
    from pyhanko.pdf_utils import text
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory

    params = {f"line{i}": _one_line(line) for i, line in enumerate(lines)}
    font = _font_for(list(params.values()), folder)
    style = stamp.TextStampStyle(
        stamp_text="\n".join(f"%({k})s" for k in params),
        text_box_style=text.TextBoxStyle(font=GlyphAccumulatorFactory(str(font)), font_size=8),
        border_width=1,
    )
    return style, params


def _one_line(text: str) -> str:
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= STAMP_LINE else flat[: STAMP_LINE - 1] + "…"


def sign_pdf(
    pdf: bytes,
    *,
    key: Path,
    cert: Path,
    field_name: str,
    reason: str,
    location: str,
    contact: str,
    appearance: Sequence[str] = (),
    position: int = 1,
) -> bytes:
    """Add a PAdES B-B signature as an incremental update (earlier signatures stay valid).

    With `appearance` lines, the signature gets a visible stamp in the report's signature area
    (slot `position`): a new signature field with its widget, which PDF signature validators
    accept as a permitted change after earlier signatures.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    for path, what in ((key, "signing key"), (cert, "certificate")):
        if not path.is_file():
            raise GovkitError(f"{what} not found", file=path)
    try:
        signer = signers.SimpleSigner.load(str(key), str(cert))
    except Exception as exc:  # pyHanko reports bad key material with several exception types
        raise GovkitError(f"cannot load signing key and certificate: {exc}", file=key) from None
    if signer is None:
        raise GovkitError("cannot load signing key and certificate (wrong format or passphrase)", file=key)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        contact_info=contact,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = io.BytesIO()
    placed = _stamp_box(writer.prev, position) if appearance else None
    if placed is None:
        signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
        return out.getvalue()
    with tempfile.TemporaryDirectory(prefix="govkit-stamp-") as folder:
        style, params = _stamp_style(appearance, Path(folder))
        spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=placed[0], box=placed[1])
        pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=style, new_field_spec=spec)
        pdf_signer.sign_pdf(writer, output=out, appearance_text_params=params)
    return out.getvalue()


@dataclass(frozen=True)
class SignatureReport:
    field: str
    signer: str
    signing_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    changed_after: bool
    reason: str | None
    certificate_problem: str | None = None  # e.g. "expired 2025-01-01T00:00:00+00:00"

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and not self.changed_after and self.certificate_problem is None


def validate_signatures(pdf: bytes, trust_roots: list[Path]) -> list[SignatureReport]:
    """Validate every signature: integrity, cryptographic validity, trust, later changes, and the
    signer certificate's validity period.

    pyHanko judges the certificate path at the ValidationContext's `moment` (now) but not the
    validity of a trust anchor itself, and a self-signed signer certificate is its own anchor:
    its period is checked here, now and at the time the signer claims, as pyHanko would without a
    trusted timestamp.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [_load_trust_root(p) for p in trust_roots]
    now = dt.datetime.now(dt.UTC)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    reports = []
    for sig in reader.embedded_signatures:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=roots, allow_fetching=False, moment=now))
        level = status.modification_level
        changed = (status.docmdp_ok is False) or (level is not None and level.name == "OTHER")
        cert = status.signing_cert
        claimed = status.signer_reported_dt
        if claimed is not None and claimed.tzinfo is None:
            claimed = claimed.replace(tzinfo=dt.UTC)
        problem = validity_problem(cert.not_valid_before, cert.not_valid_after, now) or (
            claimed and validity_problem(cert.not_valid_before, cert.not_valid_after, claimed)
        )
        reports.append(
            SignatureReport(
                field=printable(sig.field_name),
                signer=printable(status.signing_cert.subject.human_friendly),
                signing_time=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(roots) and bool(status.trusted),
                covers_whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
                changed_after=changed,
                reason=printable(sig.sig_object.get("/Reason", "")) or None,
                certificate_problem=problem or None,
            )
        )
    return reports


def _load_trust_root(path: Path) -> asn1_x509.Certificate:
    from pyhanko.keys import load_cert_from_pemder

    try:
        return load_cert_from_pemder(str(path))
    except FileNotFoundError:
        raise GovkitError("trusted certificate not found", file=path) from None
    except Exception as exc:  # asn1crypto and pyHanko raise several types for a bad file
        raise GovkitError(f"not a PEM or DER certificate: {type(exc).__name__}", file=path, field="--trust") from None


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
