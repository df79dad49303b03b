"""Run the area tasks on Dask distributed: a LocalCluster, or an existing scheduler.

Tasks are submitted once each; results are gathered as they finish, with a progress bar on
stderr (areas done / total, rate, ETA) and the dashboard link when the cluster has one. A worker
that dies mid-run loses nothing: the scheduler hands its tasks to the other workers, and a task
writes its area's file only when complete (:mod:`analysis.batch.task`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack

from analysis.batch.partition import AreaPart
from analysis.batch.task import BatchParams, failed_row, run_task
from layers.errors import InputError


def _client(stack: ExitStack, scheduler: str | None, workers: int):
    """A distributed Client on ``scheduler``, else on a new LocalCluster of ``workers`` processes."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return stack.enter_context(Client(scheduler, timeout="30s"))
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc})") from None
    cluster = stack.enter_context(
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    )
    return stack.enter_context(Client(cluster))


def run_parts(
    parts: Sequence[AreaPart],
    params: BatchParams,
    *,
    scheduler: str | None = None,
    workers: int = 1,
    progress: bool = True,
) -> list[dict]:
    """Run every part on Dask and return the task results in the order of ``parts``.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:8786``); else a LocalCluster is started.
    workers : int
        Worker processes of the LocalCluster (one thread each).
    progress : bool
        Draw the progress bar (stderr) and print the dashboard link.
    """
    from dask.distributed import as_completed
    from tqdm import tqdm

    results: dict[str, dict] = {}
    with ExitStack() as stack:
        client = _client(stack, scheduler, workers)
        link = getattr(client, "dashboard_link", None)
        if progress and link:
            print(f"Dask dashboard: {link}", file=sys.stderr)
        futures = {
            client.submit(run_task, part, params, key=f"area-{part.area_id}-{part.key[:12]}", pure=False): part.area_id
            for part in parts
        }
        bar = tqdm(total=len(parts), unit="area", file=sys.stderr, disable=not progress, dynamic_ncols=True)
        with bar:
            for future in as_completed(futures):
                area_id = futures[future]
                try:
                    results[area_id] = future.result()
                except Exception as exc:  # noqa: BLE001 - the task never raises; a lost cluster does
                    results[area_id] = {"row": failed_row(area_id, f"{type(exc).__name__}: {exc}"), "rules": {}}
                bar.update(1)
    return [results[part.area_id] for part in parts]
