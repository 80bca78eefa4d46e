"""HPSW client benchmark: the lean read path against zeep; prints one JSON object.

The emulator runs in its own process (seed 42, `--size`, default medium), so the CPU
figures are the client's alone (`time.process_time` of this process, after a `gc.collect()`
so that one path does not pay for the other's garbage):

  small_call_cpu_ms: CPU per small call, `EtudiantsDuCours` ×`--calls` (default 500) on one
    course, after a warm-up;
  seances_cpu_s / seances_wall_s: fetching and parsing every séance of the school year,
    `DetailDesSeancesPlaceesTableauDeCours` over every placed course (200 keys a call);
  wsdl_load_s: loading the WSDL (and, lean, compiling the codecs), wall time;

for `lean` and `zeep`, their ratios, and `identical`: whether both paths answered the same
séances and the same small-call answer.

    python benchmarks/hp_client_bench.py [--size medium] [--calls 500]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from datetime import date
from typing import Any

from pydantic import SecretStr

from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning.client import HpswClient

YEAR_START = date(2026, 9, 1)
YEAR_END = date(2027, 7, 31)
COURS = "PortCours"


def placed_courses(client: HpswClient) -> list[int]:
    listed = [int(k) for k in client.keys(COURS, "TousLesCoursEntre2Dates", YEAR_START, YEAR_END)]
    placed = client.chunked(
        COURS, "RestreindreTableauDeCoursAuxCoursPlaces", "THpSvcWCleCours", listed
    )
    return [int(k) for k in placed]  # type: ignore[call-overload]


def measure(hp: HyperplanningSandbox, lean: bool, calls: int) -> dict[str, Any]:
    started = time.perf_counter()
    client = HpswClient(hp.url, hp.username, SecretStr(hp.password), lean=lean)
    client.version()
    load_s = time.perf_counter() - started
    courses = placed_courses(client)
    course = courses[0]

    for _ in range(50):
        client.call(COURS, "EtudiantsDuCours", course)
    gc.collect()  # garbage left by the other path is not this one's cost
    cpu = time.process_time()
    for _ in range(calls):
        small = client.call(COURS, "EtudiantsDuCours", course)
    small_ms = (time.process_time() - cpu) * 1000 / calls

    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    seances = client.chunked(
        COURS, "DetailDesSeancesPlaceesTableauDeCours", "THpSvcWCleCours", courses
    )
    seances_cpu = time.process_time() - cpu
    seances_wall = time.perf_counter() - wall
    return {
        "figures": {
            "small_call_cpu_ms": round(small_ms, 3),
            "seances_cpu_s": round(seances_cpu, 3),
            "seances_wall_s": round(seances_wall, 3),
            "wsdl_load_s": round(load_s, 3),
            "placed_courses": len(courses),
            "seances": len(seances),
            "seance_calls": -(-len(courses) // client.chunk),
        },
        "answers": (small, seances),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with HyperplanningSandbox.start_process(seed=42, size=args.size, year_start=YEAR_START) as hp:
        zeep_run = measure(hp, lean=False, calls=args.calls)
        lean_run = measure(hp, lean=True, calls=args.calls)
    lean, ref = lean_run["figures"], zeep_run["figures"]
    print(
        json.dumps(
            {
                "size": args.size,
                "small_calls": args.calls,
                "lean": lean,
                "zeep": ref,
                "small_call_cpu_ratio": round(
                    ref["small_call_cpu_ms"] / lean["small_call_cpu_ms"], 2
                ),
                "seances_cpu_ratio": round(ref["seances_cpu_s"] / lean["seances_cpu_s"], 2),
                "identical": lean_run["answers"] == zeep_run["answers"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
