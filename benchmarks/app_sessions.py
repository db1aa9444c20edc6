"""Visitors without a browser: Streamlit sessions driven over the app's own websocket protocol.

Run ``python -m benchmarks.app_sessions [--sessions 30]`` for a classroom at once: it serves the app
(offline, ``CVVIZ_MODEL_CACHE_MB`` as given), lets one visitor pay the one-off costs (imports, the default
model, the saliency library), then sends N visitors at once along :func:`visit`'s path, and prints
p50/p95 per step, the server's memory and how many copies of each model the workbench built. The suite's
``tests/test_many_visitors.py`` runs the same path with a few visitors.

A :class:`Visitor` connects to ``/_stcore/stream`` as the browser does, asks for script runs with the
widget values a visitor would set (``rerun``), moves between pages and uploads a file through the same
``/_stcore/upload_file`` route, and records what each run drew: the elements by type, the widgets by
label, and any exception. Many of them fit in one process (each is a socket and a few protobufs), so a
test can put a classroom's worth of sessions on a server in seconds where browsers would take minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

MODELS = ("SqueezeNet 1.1", "ShuffleNet V2 ×0.5", "MobileNet V3 Small")
"""The three models the visitors share among them (the picker's labels begin so)."""
MODEL_NAMES = ("squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small")
STEP_TIMEOUT_S = 900
WIDGET_TYPES = ("selectbox", "radio", "file_uploader", "slider", "button", "checkbox", "number_input")


@dataclass
class Run:
    """What one script run sent: element types in order, widgets by label, exception texts."""

    elements: list[str] = field(default_factory=list)
    widgets: dict[str, object] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, kind: str) -> int:
        return self.elements.count(kind)

    def says(self, words: str) -> bool:
        """Whether a markdown, heading or alert element of the run contains ``words``."""
        return any(words in text for text in self.texts)


class Visitor:
    """One browser tab's worth of session, over the websocket (use ``async with``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id = ""
        self.pages: dict[str, str] = {}  # URL path name → page script hash
        self.page_hash = ""
        self.states: dict[str, WidgetState] = {}
        self._socket = None
        self._inbox: asyncio.Queue[ForwardMsg] = asyncio.Queue()
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> Visitor:
        import websockets

        address = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self._socket = await websockets.connect(address, subprotocols=["streamlit"], max_size=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            await self._socket.close()

    async def _read(self) -> None:
        async for data in self._socket:
            message = ForwardMsg()
            message.ParseFromString(data)
            await self._inbox.put(message)

    async def _send(self, message: BackMsg) -> None:
        await self._socket.send(message.SerializeToString())

    async def rerun(self, page: str | None = None, timeout: float = 300) -> Run:
        """Run the script of ``page`` (its URL path name; None: the current page) with the widget values
        set so far, and collect what it draws until it finishes."""
        message = BackMsg()
        state = message.rerun_script
        if page is not None and page not in self.pages:  # a first visit straight to a page, as by its URL
            state.page_name = page
        else:
            self.page_hash = self.pages[page] if page is not None else self.page_hash
            state.page_script_hash = self.page_hash
        state.widget_states.widgets.extend(self.states.values())
        started = time.perf_counter()
        await self._send(message)
        run = Run()
        while True:
            reply = await asyncio.wait_for(self._inbox.get(), timeout)
            kind = reply.WhichOneof("type")
            if kind == "new_session":
                self.session_id = reply.new_session.initialize.session_id or self.session_id
                self.pages.update({p.url_pathname: p.page_script_hash for p in reply.new_session.app_pages})
                self.page_hash = self.page_hash or reply.new_session.page_script_hash
            elif kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in reply.navigation.app_pages})
                self.page_hash = reply.navigation.page_script_hash or self.page_hash
            elif kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                element = reply.delta.new_element
                element_type = element.WhichOneof("type")
                run.elements.append(element_type)
                if element_type in ("markdown", "heading", "alert"):
                    run.texts.append(getattr(element, element_type).body)
                if element_type == "exception":
                    run.exceptions.append(f"{element.exception.type}: {element.exception.message}")
                elif element_type in WIDGET_TYPES:
                    widget = getattr(element, element_type)
                    run.widgets[widget.label] = widget
            elif kind == "script_finished" and reply.script_finished in (
                ForwardMsg.FINISHED_SUCCESSFULLY,
                ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
            ):  # a run stopped early for the next one (FINISHED_EARLY_FOR_RERUN) goes on reading
                run.seconds = time.perf_counter() - started
                return run

    def choose(self, run: Run, label: str, value: str) -> str:
        """Set the selectbox (or radio) labelled ``label`` in ``run`` to the first option that begins with
        ``value``; returns that option."""
        widget = run.widgets[label]
        option = next((o for o in widget.options if o.startswith(value)), None)
        if option is None:
            raise ValueError(f"no option of {label!r} begins with {value!r}")
        self.states[widget.id] = WidgetState(id=widget.id, string_value=option)
        return option

    async def upload(self, run: Run, label: str, name: str, data: bytes) -> None:
        """Upload ``data`` as file ``name`` to the file uploader labelled ``label`` in ``run``."""
        widget = run.widgets[label]
        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.session_id = self.session_id
        request.file_urls_request.file_names.append(name)
        await self._send(request)
        while True:
            reply = await asyncio.wait_for(self._inbox.get(), 60)
            if reply.WhichOneof("type") == "file_urls_response":
                urls = reply.file_urls_response.file_urls[0]
                break
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        put = urllib.request.Request(
            self.url + urls.upload_url,
            data=body,
            method="PUT",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        await asyncio.to_thread(urllib.request.urlopen, put, None, 60)
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(urls)
        self.states[widget.id] = state


def memory_kib(pid: int, field: str) -> int:
    """A figure of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``…) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class VisitFailed(AssertionError):
    """A visitor saw an exception, no figure, or not what it asked for."""


async def visit(url: str, index: int, photo: bytes, models: tuple[str, ...] = MODELS) -> dict[str, float]:
    """One visitor: the architecture page, a switch to model ``index`` (of ``models``, round-robin), an
    uploaded photo, the saliency page (Grad-CAM on the upload) and a switch to the next model there.
    Returns each step's seconds (from the request to the script's end); raises :class:`VisitFailed`."""
    times: dict[str, float] = {}

    def check(condition: bool, what: str) -> None:
        if not condition:
            raise VisitFailed(f"visitor {index}: {what}")

    async with Visitor(url) as visitor:

        async def step(name: str, page: str | None = None) -> Run:
            run = await visitor.rerun(page, timeout=STEP_TIMEOUT_S)
            check(not run.exceptions, f"{name}: {run.exceptions}")
            check(run.count("plotly_chart") >= 1, f"{name}: no figure")
            times[name] = run.seconds
            return run

        run = await step("open the architecture page", "architecture")
        first = visitor.choose(run, "Model", models[index % len(models)]).split(" · ")[0]
        run = await step("switch model")
        check(run.says(f"Inside {first}"), f"the architecture page does not show {first}")
        visitor.choose(run, "Image", "upload")
        run = await visitor.rerun(timeout=STEP_TIMEOUT_S)
        await visitor.upload(run, "Upload an image", "cat.jpg", photo)
        await step("upload a photo")
        run = await step("saliency page (Grad-CAM)", "saliency")
        check(run.says("Explaining class"), "no saliency map")
        second = visitor.choose(run, "Model", models[(index + 1) % len(models)]).split(" · ")[0]
        run = await step("switch model on saliency")
        check(run.says(f"Over the 224×224 crop {second} sees"), f"no saliency map of {second}")
    return times


async def classroom(url: str, sessions: int, photo: bytes, models: tuple[str, ...] = MODELS):
    """``sessions`` visitors at once; each one's step times, or the exception that stopped it."""
    return await asyncio.gather(
        *(visit(url, index, photo, models) for index in range(sessions)), return_exceptions=True
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_environment(scratch: Path, model_cache_mb: int) -> dict[str, str]:
    """A load test's server: offline, an empty torch cache, the workbench's statistics written to a file
    in ``scratch``. The cvviz cache stays the usual one, so the catalog's persisted figures (``python -m
    cvviz models``) spare the first saliency page from counting every model."""
    return {
        "CVVIZ_OFFLINE": "1",
        "TORCH_HOME": str(scratch / "torch"),
        "CVVIZ_MODEL_CACHE_MB": str(model_cache_mb),
        "CVVIZ_WORKBENCH_STATS": str(scratch / "workbench.json"),
        "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION": "false",  # these visitors send no XSRF cookie
    }


def main() -> None:
    from benchmarks.live_app import serve_app
    from cvviz.data.images import sample_images

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--model-cache-mb", type=int, default=64)
    args = parser.parse_args()
    photo = next(sample for sample in sample_images() if sample.name == "cat").path.read_bytes()
    with (
        tempfile.TemporaryDirectory() as scratch,
        serve_app(server_environment(Path(scratch), args.model_cache_mb)) as (url, pid),
    ):
        started = time.perf_counter()
        asyncio.run(visit(url, 0, photo, ("EfficientNet-Lite0",)))
        warm = time.perf_counter() - started
        before = memory_kib(pid, "VmRSS")
        started = time.perf_counter()
        outcomes = asyncio.run(classroom(url, args.sessions, photo))
        wall = time.perf_counter() - started
        peak = memory_kib(pid, "VmHWM")
        stats = json.loads((Path(scratch) / "workbench.json").read_text())
    failures = [str(o) for o in outcomes if isinstance(o, BaseException)]
    times = [o for o in outcomes if not isinstance(o, BaseException)]
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; one visitor first {warm:.0f} s; "
          f"then {args.sessions} at once, {wall:.0f} s in all")  # fmt: skip
    for name in times[0] if times else ():
        values = [t[name] for t in times]
        print(f"{name:28s} p50 {statistics.median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s")
    print(f"server RSS {before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB "
          f"(+{(peak - before) / 1024:.0f} MiB, {(peak - before) / 1024 / args.sessions:.1f} MiB a session)")  # fmt: skip
    print(f"models built: {stats['builds']}; {stats['model_bytes'] / 2**20:.1f} MiB cached")
    print(f"failed sessions: {len(failures)}")
    for failure in failures:
        print("  " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
