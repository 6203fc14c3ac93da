"""Clean Descriptors benchmark: how much of the descriptors a run keeps, and what identifying text it leaves.

    python bench/descriptors.py [--n 120] [--extra 400] [--seed 3]

Builds a store of ``make_sample(files, n)`` (its StudyDescription sometimes holds the family name)
plus ``--extra`` instances written here whose descriptors are realistic radiology descriptions
(:data:`DESCRIPTORS`), a third of them with an identifying phrase of the instance put in
(:data:`INSERTS`: the patient's name in its written forms, ID, accession number, birth date,
institution). De-identifies it with the basic profile and ``options.cleanDescriptors``
(``{"dicomTagConfig": {"options": {"cleanDescriptors": {}}}}``), matches every output file to its
source through the crosswalk, and compares each descriptor (:data:`COLUMNS`) before and after:

* identifying phrases (:func:`identifying_phrases`): the instance's own names, IDs, birth date
  and institution, found in the source descriptor as whole words, case-insensitively;
* kept share: the other words of the source descriptors that are still in the output
  (target >= 95 %);
* identifying phrases left: those found in a source descriptor that are still in its output
  (target 0; a date shifted to another date is not left).

Prints the figures and the descriptors that lost words, and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.detect import variants_of_date, word_lists
from dicomlake.deid.places import PLACE_WORDS
from dicomlake.deid.run import deidentify
from dicomlake.demo.sample import make_sample

COLUMNS = ("StudyDescription", "SeriesDescription", "ImageComments", "ProtocolName")
REQUEST = {"dicomTagConfig": {"options": {"cleanDescriptors": {}}}}
TARGET_KEPT = 0.95

DESCRIPTORS = (
    "CT HEAD", "CT HEAD W/O CONTRAST", "SCOUT", "ARTERIAL PHASE", "PORTAL VENOUS PHASE", "DELAYED PHASE",
    "CT CHEST W CONTRAST", "CTA CHEST PE PROTOCOL", "CT ABDOMEN PELVIS W CONTRAST", "MRI BRAIN W/WO CONTRAST",
    "MR LUMBAR SPINE W/O", "AX T2 FLAIR", "SAG T1 MPRAGE", "COR STIR", "DWI b1000", "ADC map", "T1 POST GD AX",
    "XR CHEST PA AND LATERAL", "XR KNEE 3 VIEWS LEFT", "US ABDOMEN COMPLETE", "US RENAL BILATERAL",
    "MAMMO SCREENING BILATERAL", "PET/CT WHOLE BODY", "NM BONE SCAN WHOLE BODY", "Lung 1.0 B70f", "Body 5.0 B31f",
    "Soft Tissue 3mm", "Bone Window", "Coronal MPR", "Sagittal MPR", "3D VR", "MIP 10mm", "Dose Report",
    "Patient Protocol", "Topogram 0.6 T20s", "CARDIAC CTA", "Calcium Score", "ECHO 4CH", "LOCALIZER",
    "Routine Brain", "Stroke protocol", "Trauma pan scan", "Follow-up", "Pre-op planning", "Post biopsy",
    "Comparison with prior exam", "Right shoulder arthrogram", "Left hip 2 views", "Abdomen 2 views",
    "Renal stone protocol", "Liver triphasic", "Pancreas protocol", "Head and neck CTA", "Neck soft tissue",
    "Sinus CT", "Temporal bone", "Orbits", "Cervical spine", "Thoracic spine", "Pelvis", "Wrist PA",
    "Hand 3 views", "Foot weight bearing", "Chest wall", "Mark position", "Recon 2: 1.25 mm", "Series 5 Image 120",
    "Phase 2/4", "Breath hold", "Gated 75%", "Low dose lung screening", "Prostate MRI multiparametric",
    "Knee MRI without contrast", "Fetal ultrasound", "Carotid doppler", "Venous doppler left leg",
)  # fmt: skip
FAMILIES = ("Nguyen", "Johnson", "Garcia", "Kowalski", "O'Brien", "Okafor", "Lindqvist", "Patel", "Moreau", "Tanaka")
GIVENS = ("Van", "Ann", "Maria", "John", "Liam", "Chidi", "Astrid", "Priya", "Lucie", "Kenji")
INSTITUTIONS = ("Madison General Hospital", "St. Mary's Medical Center", "Lakeview Imaging Center")
#: Identifying phrases put in a descriptor: the instance's own values, as people write them.
INSERTS = (
    "Follow-up for {family}",
    "{FAMILY}^{GIVEN}",
    "{given} {family}",
    "pt {pid}",
    "acc {acc}",
    "DOB {dob}",
    "at {core}",
    "{family}, {given}",
    "per Dr {ref}",
)
WORD = re.compile(r"[A-Za-z0-9]+")


def _instance(path: Path, rng: random.Random, i: int) -> None:
    family, given = rng.choice(FAMILIES), rng.choice(GIVENS)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = f"{family.upper()}^{given.upper()}", f"PX{rng.randint(100000, 999999)}"
    ds.AccessionNumber = f"A{rng.randint(1000000, 9999999)}"
    ds.PatientBirthDate = f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    ds.ReferringPhysicianName = f"{rng.choice(FAMILIES).upper()}^{rng.choice(GIVENS).upper()}"
    ds.InstitutionName = rng.choice(INSTITUTIONS)
    ds.StudyDate, ds.Modality = "20200102", "OT"
    b = ds.PatientBirthDate
    values = {
        "family": family,
        "given": given,
        "FAMILY": family.upper(),
        "GIVEN": given.upper(),
        "pid": ds.PatientID,
        "acc": ds.AccessionNumber,
        "dob": f"{b[4:6]}/{b[6:]}/{b[:4]}",
        "core": ds.InstitutionName.rsplit(" ", 1)[0],
        "ref": str(ds.ReferringPhysicianName).split("^")[0].title(),
    }
    for col in COLUMNS:
        text = rng.choice(DESCRIPTORS)
        if rng.random() < 1 / 3:
            text = f"{text} {rng.choice(INSERTS).format(**values)}"
        setattr(ds, col, text[:64] if col != "ImageComments" else text)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def identifying_phrases(ds: pydicom.Dataset) -> set[str]:
    """The instance's own identifying phrases, lower case: each word of its names (every PN
    component), PatientID, AccessionNumber, its birth date as written (every form of
    ``variants_of_date``), its institution name and each leading part of it of two words or more
    (``St. Mary's Medical``), and each of its words that is not vocabulary."""
    vocabulary = word_lists()[1] | PLACE_WORDS
    names = [str(e.value) for e in ds if e.VR == "PN" and e.value]
    out = {w for t in names for w in WORD.findall(t) if len(w) >= 2}
    out |= {str(ds.get(k, "")) for k in ("PatientID", "AccessionNumber")}
    out |= variants_of_date(str(ds.get("PatientBirthDate", "")))
    inst = str(ds.get("InstitutionName", ""))
    words = inst.split()
    out |= {" ".join(words[:k]) for k in range(2, len(words) + 1)}
    out |= {w for w in WORD.findall(inst) if w.lower() not in vocabulary}
    return {p.lower() for p in out if p}


def _spans(text: str, phrases: set[str]) -> list[tuple[int, int]]:
    low = text.lower()
    return [m.span() for p in phrases for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(p)}(?![A-Za-z0-9])", low)]


def compare(pairs: list[tuple[pydicom.Dataset, pydicom.Dataset]]) -> dict[str, Any]:
    """Words of the source descriptors kept in the output; identifying phrases left in it."""
    kept = total = ident = left = 0
    losses: Counter[tuple[str, str]] = Counter()
    leaks: list[tuple[str, str, str]] = []
    for src, out in pairs:
        phrases = identifying_phrases(src)
        for col in COLUMNS:
            before, after_text = str(src.get(col, "") or ""), str(out.get(col, "") or "")
            if not before:
                continue
            found = _spans(before, phrases)
            for a, b in found:
                ident += 1
                if _spans(after_text, {before[a:b].lower()}):
                    left += 1
                    leaks.append((before[a:b], before, after_text))
            after = Counter(w.lower() for w in WORD.findall(after_text))
            for m in WORD.finditer(before):
                if any(a < m.end() and m.start() < b for a, b in found):
                    continue  # part of an identifying phrase
                total += 1
                if after[m.group().lower()] > 0:
                    after[m.group().lower()] -= 1
                    kept += 1
                else:
                    losses[(before, after_text)] += 1
    return {"kept": kept, "total": total, "ident": ident, "left": left, "losses": losses, "leaks": leaks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="instances of the sample store")
    parser.add_argument("--extra", type=int, default=400, help="instances with realistic descriptors")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_sample(root / "files" / "sample", args.n, seed=args.seed, workers=1)
        rng = random.Random(args.seed)
        for i in range(args.extra):
            _instance(root / "files" / "extra" / f"{i}.dcm", rng, i)
        dicomlake.ingest(root / "lake", root / "files", "s", progress=False)
        deidentify(root / "lake", load_config(REQUEST), dest_lake=root / "dest", workers=1, crosswalk=str(root / "x"))
        new = {r["original"]: r["new"] for r in pq.read_table(root / "x").to_pylist() if r["kind"] == "UID"}
        src = dict(dicomlake.open(root / "lake").sql("SELECT SOPInstanceUID, dl_source FROM s").fetchall())
        out = dict(dicomlake.open(root / "dest").sql("SELECT SOPInstanceUID, dl_source FROM s").fetchall())
        pairs = [(pydicom.dcmread(src[u]), pydicom.dcmread(out[new[u]])) for u in src if new.get(u) in out]
    r = compare(pairs)
    share = r["kept"] / max(1, r["total"])
    print(
        f"instances: {len(pairs)} ({args.n} sample + {args.extra} with realistic descriptors); columns: {', '.join(COLUMNS)}"
    )
    print(
        f"non-identifying descriptor words kept: {r['kept']}/{r['total']} = {share:.1%} (target >= {TARGET_KEPT:.0%})"
    )
    print(f"identifying phrases in source descriptors: {r['ident']}; left in the output: {r['left']} (target 0)")
    for (before, after), n in sorted(r["losses"].items(), key=lambda x: -x[1])[:15]:
        print(f"  lost {n}: {before!r} -> {after!r}")
    for phrase, before, after in r["leaks"][:15]:
        print(f"  LEFT {phrase!r}: {before!r} -> {after!r}")
    return 0 if share >= TARGET_KEPT and r["left"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
