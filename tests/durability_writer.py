"""A writer for the durability test: appends entries forever, printing each one the store acknowledged.

Run as `python -m tests.durability_writer LOG_PATH`; the test kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from checkpoint.models import Direction, Reason, Verdict
from checkpoint.store import EntryDraft, LogStore


async def main(path: Path) -> None:
    store = await LogStore.open(path, "north-gate")
    i = 0
    while True:
        i += 1
        entry = await store.append(
            EntryDraft(
                direction=Direction.IN,
                verdict=Verdict.ALLOW if i % 3 else Verdict.DENY,
                reason=Reason.OK if i % 3 else Reason.EXPIRED,
                operator="值班员",
                leader="带班",
                plate=f"鄂A{i:05d}",
                holder="张三",
                temperatures=(365,),
            )
        )
        # Acknowledged only after append() returned, i.e. after COMMIT with synchronous=FULL.
        sys.stdout.write(f"{entry.seq} {entry.id}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
