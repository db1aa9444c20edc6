"""End to end in a real browser: `streamlit run app.py` on a free loopback port, driven by Chromium.

Uses Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python package; no browser is ever
downloaded. Screenshots of every page are saved under ``test-artifacts/screenshots`` (printed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest

from benchmarks.live_app import CHROMIUM, IDLE, ROOT, chromium
from benchmarks.live_app import serve_app as live_app_server
from cvviz.data.images import sample_images

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# Generous: a cold server counts every catalog model once and CI machines are small.
SETTLE_MS = 240_000

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for these tests")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def serve_app(tmp_path_factory, **environment: str):
    """The app on a free loopback port, with a private torch cache and its log kept: (URL, server pid)."""
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {"TORCH_HOME": str(tmp_path_factory.mktemp("torch")), **environment}
    with live_app_server(env, log=log) as running:
        yield running


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The app with downloads off, so every page must work with no network: (URL, server pid)."""
    with serve_app(tmp_path_factory, CVVIZ_OFFLINE="1") as running:
        yield running


@pytest.fixture(scope="module")
def server(live_app):
    return live_app[0]


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module", autouse=True)
def artifacts():
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    return ARTIFACTS


def settle(page) -> None:
    """Wait until the script run has finished: no running indicator and no stale (faded) elements,
    seen twice half a second apart so a rerun that is about to start is not mistaken for the end."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=SETTLE_MS)
    for _ in range(2):
        page.wait_for_timeout(500)
        page.wait_for_function(IDLE, timeout=SETTLE_MS, polling=250)


def open_upload(page):
    """Switch the sidebar's image source to upload; return its file chooser."""
    page.locator('[data-testid="stSidebar"] [role="radiogroup"]').get_by_text("upload", exact=True).click()
    settle(page)
    return page.locator('[data-testid="stSidebar"] input[type="file"]')


def choose_model(page, title: str) -> None:
    """Pick a model in the sidebar by typing (part of) its label into the model select box."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.keyboard.type(title)
    page.keyboard.press("Enter")


def sample_path(name: str) -> str:
    return str(next(sample for sample in sample_images() if sample.name == name).path)


def assert_no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: {boxes.first.inner_text()[:500]}"


def test_browser_upload_and_model_switch_update_the_prediction(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(server, timeout=SETTLE_MS)
    settle(page)
    open_upload(page).set_input_files(sample_path("coffee"))
    page.wait_for_selector("text=espresso", timeout=SETTLE_MS)
    settle(page)
    assert_no_exception(page, "upload")
    page.screenshot(path=str(artifacts / "upload-coffee.png"), full_page=True)

    choose_model(page, "ResNet-18")
    page.wait_for_selector("text=ResNet-18 sees", timeout=SETTLE_MS)
    settle(page)
    assert_no_exception(page, "model switch")
    # Offline with nothing cached: one plain sentence, the Weights control set to what runs, the
    # technical reason only behind "Why", and the model marked untrained.
    page.get_by_text("No trained weights for ResNet-18 here (offline): showing random weights.").wait_for(
        timeout=SETTLE_MS
    )
    weights = page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').filter(has_text="Weights")
    assert weights.locator("label:has(input:checked)").inner_text().strip() == "random"
    assert not page.get_by_text("Errno").first.is_visible() if page.get_by_text("Errno").count() else True
    assert page.get_by_text("Untrained").count() >= 1
    page.screenshot(path=str(artifacts / "resnet18-untrained.png"), full_page=True)
    page.close()


def _trained_titles() -> list[str]:
    """Titles of the models with trained weights on this machine, as the server sees them."""
    from cvviz.catalog import get_spec
    from cvviz.models.weights import list_cached_weights

    return [get_spec(row.model).title for row in list_cached_weights() if row.cached]


def test_browser_kiosk_attract_loop_starts_when_idle_and_stops_on_touch(
    tmp_path_factory, browser, artifacts, monkeypatch
):
    import re

    torch_home = str(tmp_path_factory.mktemp("kiosk-torch"))
    monkeypatch.setenv("TORCH_HOME", torch_home)  # what this process finds is what the server finds
    trained = _trained_titles()
    kiosk_env = {
        "CVVIZ_KIOSK": "1",
        "CVVIZ_KIOSK_CAMERA": "0",
        "CVVIZ_KIOSK_IDLE_S": "3",
        "CVVIZ_KIOSK_STEP_S": "4",
    }
    with serve_app(tmp_path_factory, TORCH_HOME=torch_home, **kiosk_env) as (url, _):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url, timeout=SETTLE_MS)
        settle(page)
        assert page.locator('[data-testid="stToolbar"]').is_hidden()  # no developer menus
        explore = page.get_by_role("button", name="Touch here to explore on your own")
        explore.wait_for(timeout=60_000)  # idle for 3 s: the guided tour begins
        caption = page.get_by_text("Guided tour:")
        caption.wait_for(timeout=60_000)
        settle(page)
        assert_no_exception(page, "kiosk tour")
        # The caption names what the tour really shows: the models with trained weights here.
        text = caption.inner_text()
        found = re.fullmatch(r"Guided tour: (.+) \((.+)\), (\d+) sample photos, (\d+) pages\.", text)
        assert found, text
        if trained:
            count = (
                f"{len(trained)} model{'s' if len(trained) != 1 else ''} with trained weights on this machine"
            )
            assert (found[1], found[2].split(", ")) == (count, trained), text
        else:
            assert found[1].startswith("no trained weights on this machine"), text
        assert (int(found[3]), int(found[4])) == (len(sample_images()), len(KIOSK_PAGES)), text
        model = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model").input_value()
        assert any(model.startswith(f"{title} · ") for title in trained or ["EfficientNet-Lite0"]), model
        page.screenshot(path=str(artifacts / "kiosk-tour.png"), full_page=True)
        page.get_by_role("button", name="Touch here to explore on your own").click()
        page.wait_for_selector("text=Guided tour", state="detached", timeout=60_000)
        assert_no_exception(page, "kiosk after touch")
        page.close()


KIOSK_SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
# Each page's link label, its path and a piece of its title (the self-supervised page needs its weights,
# which a test server has not fetched).
KIOSK_PAGES = {
    "The story": ("", "From LeNet to Swin"),
    "Architecture": ("architecture", "Inside "),
    "Feature maps": ("feature_maps", "layers respond to"),
    "Receptive fields": ("receptive_fields", "Receptive fields"),
    "Attention": ("attention", "Attention: where"),
    "Saliency": ("saliency", "Saliency: which pixels"),
    "Compare backbones": ("compare", "Backbones side by side"),
    "Training lab": ("training", "Training lab"),
}
NAV_LINKS = '.st-key-kiosk_nav a[data-testid="stPageLink-NavLink"]'
DEVELOPER_MENUS = '[data-testid="stToolbar"], [data-testid="stMainMenu"], [data-testid="stAppDeployButton"]'


@pytest.fixture(scope="module")
def kiosk_server(tmp_path_factory):
    """A kiosk with no network whose tour never starts on its own (the tour has its own test)."""
    with serve_app(
        tmp_path_factory,
        CVVIZ_KIOSK="1",
        CVVIZ_KIOSK_CAMERA="0",
        CVVIZ_OFFLINE="1",
        CVVIZ_KIOSK_IDLE_S="3600",
    ) as running:
        yield running[0]


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box


# -1 while something in the main area still spins or fills a progress bar, else how many elements it holds.
MAIN_ELEMENTS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (main.querySelector('[data-testid="stSpinner"], [data-testid="stProgress"]')) return -1;
    return main.querySelectorAll('[data-testid="stElementContainer"]').length;
}"""


def _until_drawn(page) -> None:
    """Settle, then wait until nothing in the main area spins and it has held the same elements for 1 s
    (a kiosk's periodic idle check keeps the page briefly busy every few seconds)."""
    settle(page)
    deadline = time.monotonic() + SETTLE_MS / 1000
    last, steady = None, 0
    while steady < 4:
        assert time.monotonic() < deadline, "the page never finished drawing"
        page.wait_for_timeout(250)
        count = page.evaluate(MAIN_ELEMENTS)
        steady = steady + 1 if count == last and count > 0 else 0
        last = count


def _go_to_page(page, label: str) -> None:
    """Touch the kiosk's link to a page and wait until that page has drawn."""
    path, title = KIOSK_PAGES[label]
    page.locator(NAV_LINKS).filter(has_text=label).click()
    page.wait_for_function(
        "path => window.location.pathname.replace(/\\/+$/, '').split('/').pop() === path",
        arg=path,
        timeout=SETTLE_MS,
    )
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=SETTLE_MS)
    _until_drawn(page)


COLUMN_WIDTHS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stColumn"]')]
    .map(c => c.getBoundingClientRect().width).filter(w => w > 0)"""
# Tick labels of every horizontal bar chart (the predictions) that stick out of their chart.
CLIPPED_BAR_LABELS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
    .filter(plot => plot.querySelector('.barlayer'))
    .flatMap(plot => {
        const chart = plot.getBoundingClientRect();
        return [...plot.querySelectorAll('.ytick text, .g-xtitle text')].filter(label => {
            const box = label.getBoundingClientRect();
            return box.left < chart.left - 1 || box.right > chart.right + 1;
        }).map(label => label.textContent);
    })"""


def _assert_kiosk_first_screen(page, size: str) -> None:
    """The kiosk's first screen in a window of ``size``: a sample photo with its prediction in view, no
    camera prompt, developer menus hidden and a touch-sized link to every page on the first screen."""
    width, height = KIOSK_SIZES[size]
    chart = page.locator(".st-key-home-prediction .js-plotly-plot")
    chart.wait_for(timeout=SETTLE_MS)
    settle(page)
    assert_no_exception(page, f"kiosk {size}")
    assert page.locator('[data-testid="stCameraInput"]').count() == 0
    assert page.get_by_text("Choose a sample").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"kiosk-first-screen-{size}.png"))
    assert page.locator(".st-key-home-prediction .ytick").count() == 5
    assert page.evaluate(CLIPPED_BAR_LABELS) == []  # every category label inside its chart
    assert _box(chart)["y"] + _box(chart)["height"] <= height, "the prediction is below the first screen"
    menus = page.locator(DEVELOPER_MENUS)
    assert all(menus.nth(i).is_hidden() for i in range(menus.count()))
    links = page.locator(NAV_LINKS)
    assert links.count() == len(KIOSK_PAGES)
    for i in range(links.count()):
        box = _box(links.nth(i))
        assert links.nth(i).is_visible()
        assert box["height"] >= 48 and box["width"] >= 48, (links.nth(i).inner_text(), box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, box


# The width the home page's prediction chart was last drawn at (Plotly redraws it when its column changes).
PREDICTION_DRAWN_WIDTH = (
    """() => document.querySelector('.st-key-home-prediction .js-plotly-plot')._fullLayout.width"""
)


def test_browser_kiosk_opens_on_a_prediction_and_every_page_is_one_column_in_portrait(
    kiosk_server, browser, artifacts
):
    """One visitor's tab: the first screen in landscape, the same screen turned to portrait, then every
    page in portrait (one column, nothing cut), and the camera one touch away."""
    (width, height), (portrait_width, portrait_height) = KIOSK_SIZES["landscape"], KIOSK_SIZES["portrait"]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(kiosk_server, timeout=SETTLE_MS)
    _assert_kiosk_first_screen(page, "landscape")
    # The portrait layout is CSS alone (an orientation media query): turning the window applies it.
    landscape_chart_width = page.evaluate(PREDICTION_DRAWN_WIDTH)
    page.set_viewport_size({"width": portrait_width, "height": portrait_height})
    page.wait_for_function(  # one column now: the chart is drawn again at its new width
        f"() => ({PREDICTION_DRAWN_WIDTH})() !== {landscape_chart_width}", timeout=SETTLE_MS, polling=250
    )
    _assert_kiosk_first_screen(page, "portrait")
    main_width = _box(page.locator('[data-testid="stMain"]'))["width"]
    assert main_width <= portrait_width, main_width
    bar_charts = 0
    # Attention last, on a transformer (a convolutional network has no attention to draw).
    for label in sorted(KIOSK_PAGES, key=lambda label: label == "Attention"):
        path = KIOSK_PAGES[label][0]
        _go_to_page(page, label)
        if label == "Attention":
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_role("combobox", name="Model").click()
            page.keyboard.type("ViT-B/32 · ViT")
            page.keyboard.press("Enter")
            page.get_by_text("Untrained:").first.wait_for(timeout=SETTLE_MS)  # offline: random weights
            _until_drawn(page)
            assert page.get_by_text("12 layers × 12 heads").count() == 1  # ViT-B/32's attention is drawn
        page.wait_for_selector(  # a chart, an image, or the training lab's drawing canvas
            "[data-testid='stMain'] .js-plotly-plot, [data-testid='stMain'] [data-testid='stImage'], "
            "[data-testid='stMain'] canvas",
            timeout=SETTLE_MS,
        )
        assert_no_exception(page, f"portrait {label}")
        tabs = page.locator("[data-testid='stMain'] [role='tab']")
        for index, tab in enumerate(
            [None, *(tabs.nth(i) for i in range(tabs.count()))]
        ):  # columns in tabs too
            if tab is not None:
                tab.click()
                page.wait_for_timeout(500)
                page.screenshot(path=str(artifacts / f"kiosk-portrait-{path or 'home'}-tab{index}.png"))
            where = f"{label}, tab {tab.inner_text() if tab else 'first'}"
            narrow = [round(w) for w in page.evaluate(COLUMN_WIDTHS) if w < 0.8 * main_width]
            assert not narrow, f"{where}: columns {narrow} px wide in a main area of {main_width:.0f} px"
            assert page.evaluate(CLIPPED_BAR_LABELS) == [], where
        bar_charts += page.locator("[data-testid='stMain'] .js-plotly-plot .barlayer").count()
        page.screenshot(path=str(artifacts / f"kiosk-portrait-{path or 'home'}.png"), full_page=True)
    assert bar_charts >= 2  # the predictions on the story and saliency pages were checked
    # The camera is one touch away, on any page.
    page.locator('[data-testid="stSidebar"]').get_by_text("camera", exact=True).click()
    page.locator('[data-testid="stCameraInput"]').wait_for(timeout=SETTLE_MS)
    assert_no_exception(page, "kiosk camera")
    page.close()


def _hostile_images(folder: Path) -> dict[str, str | None]:
    """Files a visitor might upload, each with the sentence expected (None: it must simply work)."""
    import io

    import numpy as np
    from PIL import Image

    from tests.test_images import craft_png

    def save(name: str, image: Image.Image, **params) -> Path:
        path = folder / name
        image.save(path, **params)
        return path

    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    jpeg = io.BytesIO()
    photo.save(jpeg, "JPEG")
    cases = {
        "empty.png": (b"", "empty"),
        "random.png": (rng.bytes(4096), "not an image cvviz can read"),
        "text.png": (b"this is text, not a PNG", "not an image cvviz can read"),
        "truncated.jpg": (jpeg.getvalue()[: len(jpeg.getvalue()) // 2], "truncated or corrupt"),
        "bomb.png": (craft_png(30_000, 30_000, 1, 0, b""), "megapixels"),
    }
    expected: dict[str, str | None] = {}
    for name, (data, sentence) in cases.items():
        (folder / name).write_bytes(data)
        expected[name] = sentence
    save("tiny.png", Image.new("RGB", (1, 1)))
    expected["tiny.png"] = "pixels"
    save("strip.png", Image.new("RGB", (20000, 20)))
    expected["strip.png"] = "aspect ratio"
    save("deep.png", Image.fromarray(np.full((64, 64), 40000, dtype=np.uint16)))
    save("cmyk.jpg", photo.convert("CMYK"))
    palette = photo.convert("P")
    palette.info["transparency"] = 0
    save("palette.png", palette, transparency=0)
    save("animated.gif", photo, save_all=True, append_images=[photo.rotate(90)], duration=100)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("rotated.jpg", photo, exif=exif)
    for name in ("deep.png", "cmyk.jpg", "palette.png", "animated.gif", "rotated.jpg"):
        expected[name] = None
    return expected


def test_browser_hostile_uploads_each_get_one_sentence_and_the_app_keeps_working(
    server, browser, tmp_path, artifacts
):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(server, timeout=SETTLE_MS)
    settle(page)
    chooser = open_upload(page)
    for name, sentence in _hostile_images(tmp_path).items():
        chooser.set_input_files(str(tmp_path / name))
        settle(page)
        assert_no_exception(page, name)
        alerts = page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]')
        if sentence is None:
            assert alerts.count() == 0, f"{name}: {alerts.first.inner_text()}"
            page.wait_for_selector("text=sees", timeout=SETTLE_MS)
        else:
            assert alerts.count() == 1, name
            text = alerts.first.inner_text().strip()
            assert sentence in text and "\n" not in text and "Traceback" not in text, f"{name}: {text}"
    chooser.set_input_files(sample_path("cat"))
    page.wait_for_selector("text=tiger cat", timeout=SETTLE_MS)
    page.screenshot(path=str(artifacts / "after-hostile-uploads.png"), full_page=True)
    page.close()


def test_browser_hostile_weights_uploads_are_refused_without_running_code(server, browser, tmp_path):
    import torch

    from cvviz.catalog import get_spec
    from cvviz.models.build import build_architecture

    wrong = tmp_path / "lenet.pth"
    torch.save(build_architecture(get_spec("lenet5")).state_dict(), wrong)
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(
        b"\x80\x04\x95"
        + b"\x00" * 8  # a pickle that would call os.system if unpickled unsafely
        + f"cos\nsystem\n(Vtouch {marker}\ntR.".encode()
    )
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(server, timeout=SETTLE_MS)
    settle(page)
    page.get_by_text("user", exact=True).click()
    settle(page)
    chooser = page.locator(
        '[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type="file"]'
    ).first
    for path, sentence in ((wrong, "do not fit"), (evil, "would run code")):
        chooser.set_input_files(str(path))
        settle(page)
        assert_no_exception(page, path.name)
        errors = page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]')
        assert errors.count() >= 1 and sentence in errors.first.inner_text(), path.name
        assert page.get_by_text("untrained").count() >= 1
    assert not marker.exists()
    page.close()


def _memory_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (VmRSS: now, VmHWM: peak since start), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _open_on_model(browser, url: str, title: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(url, timeout=SETTLE_MS)
    settle(page)
    choose_model(page, title)
    return context, page


def test_browser_concurrent_sessions_share_one_model_copy_and_memory_stays_bounded(live_app, browser):
    from cvviz.catalog import get_spec
    from cvviz.models.build import build_on_meta

    url, pid = live_app
    model_kib = (
        sum(p.numel() for p in build_on_meta(get_spec("vgg16")).parameters()) * 4 // 1024
    )  # one fp32 copy of VGG-16, ~528 MiB
    first_context, first = _open_on_model(browser, url, "VGG-16 · VGG")
    first.wait_for_selector("text=VGG-16 sees", timeout=SETTLE_MS)
    settle(first)
    with_one = _memory_kib(pid, "VmRSS")

    others = [_open_on_model(browser, url, "VGG-16 · VGG") for _ in range(3)]  # overlapping on the server
    for index, (_, page) in enumerate(others):
        page.wait_for_selector("text=VGG-16 sees", timeout=SETTLE_MS)
        settle(page)
        assert_no_exception(page, f"session {index + 2}")
    added = _memory_kib(pid, "VmRSS") - with_one
    peak = _memory_kib(pid, "VmHWM")
    print(
        f"\n4 sessions on VGG-16: 3 more sessions added {added / 1024:.0f} MiB; server peak {peak / 1024:.0f} MiB"
    )
    # The model is shared: three more sessions cost activations, not three more ~528 MiB copies.
    assert added < model_kib // 2, f"three more sessions added {added} KiB; the model is {model_kib} KiB"
    for context, _ in [(first_context, first), *others]:
        context.close()


# For each page, in visiting order: its link, the model to switch to there (never the one already
# chosen, so every page sees a real switch) and a heading that appears once its main figure is drawn.
PAGE_FLOWS = {
    "architecture": ("Architecture", "ResNet-18 · ResNet", "Shape of the network"),
    "feature_maps": ("Feature maps", "SqueezeNet 1.1 · SqueezeNet", "The journey: stem to last stage"),
    "receptive_fields": ("Receptive fields", "ResNet-18 · ResNet", "One unit on your image"),
    "attention": ("Attention", "ViT-B/32 · ViT", "Class token attention"),
    "saliency": ("Saliency", "SqueezeNet 1.1 · SqueezeNet", "One method across models"),
    "compare": ("Compare backbones", "ResNet-18 · ResNet", "Accuracy against compute"),
}


def test_browser_every_page_keeps_the_upload_and_takes_a_model_switch(server, browser, artifacts):
    """One visitor's session: an upload on the first page, then every page through the sidebar, each
    drawn on that upload, then again after switching the model there."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server}/architecture", timeout=SETTLE_MS)
    settle(page)
    open_upload(page).set_input_files(sample_path("coffee"))
    settle(page)
    assert_no_exception(page, "architecture after upload")
    for page_name, (link, model, heading) in PAGE_FLOWS.items():
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=link).click()
        page.wait_for_url(f"**/{page_name}", timeout=SETTLE_MS)
        settle(page)
        assert_no_exception(page, page_name)
        uploader = page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"]')
        assert uploader.get_by_text("coffee", exact=False).count() >= 1, f"{page_name}: the upload was lost"
        choose_model(page, model)
        settle(page)
        page.get_by_text(heading).first.wait_for(timeout=SETTLE_MS)
        page.wait_for_selector("[data-testid='stMain'] .js-plotly-plot", timeout=SETTLE_MS)
        assert_no_exception(page, f"{page_name} after switching to {model}")
        page.screenshot(path=str(artifacts / f"flow-{page_name}.png"), full_page=True)
    page.close()


def test_browser_uploaded_zip_is_unpacked_for_the_session_and_removed_when_the_tab_closes(
    tmp_path_factory, browser, tmp_path
):
    import zipfile

    scratch = tmp_path_factory.mktemp("server-tmp")
    labelled = tmp_path / "labelled.zip"
    with zipfile.ZipFile(labelled, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("val/tabby/cat.png", Path(sample_path("cat")).read_bytes())
        archive.writestr("val/espresso/coffee.png", Path(sample_path("coffee")).read_bytes())
    with serve_app(tmp_path_factory, CVVIZ_OFFLINE="1", TMPDIR=str(scratch)) as (url, _):
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"{url}/compare", timeout=SETTLE_MS)
        settle(page)
        chooser = '[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]'
        page.wait_for_selector(
            chooser, state="attached", timeout=SETTLE_MS
        )  # the page's own, not the sidebar's
        page.locator(chooser).set_input_files(str(labelled))
        page.wait_for_selector("text=labelled.zip: 2 files unpacked", timeout=SETTLE_MS)
        settle(page)
        assert_no_exception(page, "zip upload")
        (folder,) = scratch.glob("cvviz-zip-*")
        assert (folder / "val" / "tabby" / "cat.png").is_file()
        page.close()  # the session disconnects: its session-scoped resources are released
        deadline = time.monotonic() + 30
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not folder.exists()


# In the browser: how many screen pixels one data unit spans across and down, for every heat map drawn.
PIXEL_ASPECTS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .flatMap(plot => (plot._fullData || []).filter(t => t.type === 'heatmap').map(t => {
        const x = plot._fullLayout['xaxis' + t.xaxis.slice(1)], y = plot._fullLayout['yaxis' + t.yaxis.slice(1)];
        return (x._length / Math.abs(x.range[1] - x.range[0])) / (y._length / Math.abs(y.range[1] - y.range[0]));
    }))"""


def test_browser_feature_maps_are_drawn_with_square_pixels(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server}/feature_maps", timeout=SETTLE_MS)
    settle(page)
    page.get_by_text("The journey: stem to last stage").first.wait_for(timeout=SETTLE_MS)
    page.wait_for_function(
        """() => document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').length >= 4""",
        timeout=SETTLE_MS,
    )
    assert_no_exception(page, "feature maps")
    aspects = page.evaluate(PIXEL_ASPECTS)
    # The channel grid, the enlarged channel, its overlay and the journey: 7×7 maps are squares too.
    assert len(aspects) >= 4 and all(abs(aspect - 1) < 0.02 for aspect in aspects), aspects
    page.screenshot(path=str(artifacts / "feature-maps-square.png"), full_page=True)
    page.close()


# Where the first clickable pick point (row 0, column 0) of a keyed Plotly chart is on the screen: the
# chart's own axes map data to pixels.
PICK_POINT_ON_SCREEN = """(key) => {
    const plot = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const pick = plot._fullData.find(trace => trace.name === 'pick');
    const layout = plot._fullLayout, box = plot.getBoundingClientRect();
    return [box.left + layout.xaxis._offset + layout.xaxis.l2p(pick.x[0]),
            box.top + layout.yaxis._offset + layout.yaxis.l2p(pick.y[0])];
}"""


def test_browser_click_on_the_image_picks_the_receptive_field_unit(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server}/receptive_fields", timeout=SETTLE_MS)
    settle(page)
    caption = page.get_by_text("Unit (", exact=False).first
    caption.wait_for(timeout=SETTLE_MS)
    before = caption.inner_text()
    assert before.startswith("Unit (") and "(0, 0)" not in before
    layer = caption.locator("code").inner_text()
    key = f"rf-pick-efficientnet_lite0-{layer}".replace(".", "-")
    page.locator(f".st-key-{key}").scroll_into_view_if_needed()
    x, y = page.evaluate(PICK_POINT_ON_SCREEN, key)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('Unit (0, 0)'))",
        timeout=SETTLE_MS,
    )
    settle(page)
    assert_no_exception(page, "receptive-field click")
    page.screenshot(path=str(artifacts / "rf-click.png"), full_page=True)
    page.close()


def test_browser_a_long_run_says_its_time_keeps_its_result_and_can_be_stopped(server, browser, artifacts):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server}/saliency", timeout=SETTLE_MS)
    settle(page)
    run = page.locator("button", has_text="Run sanity check")
    assert "(about" in run.inner_text(timeout=SETTLE_MS)  # how long, said before it starts
    run.click()
    # Progress with the time left.
    page.locator('[data-testid="stProgress"]', has_text=" left").first.wait_for(timeout=SETTLE_MS)
    page.get_by_text("spearman", exact=True).wait_for(timeout=SETTLE_MS)
    settle(page)
    page.get_by_text("ssim", exact=True).click()  # a display option: the result is redrawn, not wiped
    settle(page)
    assert page.get_by_text("spearman", exact=True).count() == 1
    assert page.locator(".js-plotly-plot .ytitle", has_text="SSIM").count() == 1
    page.screenshot(path=str(artifacts / "sanity-kept.png"), full_page=True)
    page.locator("button", has_text="Run sanity check again").click()
    page.locator("button", has_text="Stop").click(timeout=SETTLE_MS)
    page.get_by_text("Stopped after", exact=False).wait_for(timeout=SETTLE_MS)
    settle(page)
    assert_no_exception(page, "stopped sanity check")
    page.close()
