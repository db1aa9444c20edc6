"""Transfer-learning lab: teach the chosen pretrained backbone your own classes, and see what transfers."""

import json

import numpy as np
import streamlit as st

from cvviz.catalog import list_models
from cvviz.data.archives import MAX_BYTES, MAX_FILES
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _, ngettext
from cvviz.jobs import Job
from cvviz.measure.profiling import available_weights
from cvviz.models.inference import to_display_image
from cvviz.plotting.picking import picked_cell
from cvviz.plotting.saliency import saliency_grid_figure
from cvviz.plotting.training import confusion_figure, probabilities_figure
from cvviz.plotting.transfer import backbones_figure, embedding_figure
from cvviz.transfer import (
    MIN_CLASSES,
    MIN_PER_CLASS,
    FinetuneSettings,
    check_minimum,
    compare_backbones,
    export_head,
    from_class_images,
    load_head,
    predict_with_head,
    transfer_job,
)
from cvviz.transfer.embedding import project
from cvviz.transfer.heads import MODE_TITLES
from cvviz.transfer.lab import new_class_grad_cam
from ui.jobs import long_run
from ui.messages import untrained_banner
from ui.resources import decode_image, drawn_shapes, session_zip_images, workbench
from ui.sidebar import current_selection

SOURCES = {
    "shapes": N_("Drawn shapes (bundled)"),
    "zip": N_("A zip of class folders"),
    "classes": N_("Your classes: uploads or webcam"),
}
MODES = ("probe", "mlp", "finetune")
PROJECTIONS = {"pca": "PCA", "tsne": "t-SNE"}
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
COMPARED = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
SHOWN_PER_CLASS = 8
ZIP_REFUSED = "transfer.zip_refused"
HEAD_LOADED = "transfer.head_loaded"
SECONDS_PER_IMAGE = 0.15  # one forward pass of a small backbone on 2 CPU cores, for the time said up front


@st.cache_resource(scope="session", max_entries=2, show_spinner=False)
def class_images(classes: tuple[tuple[str, tuple[bytes, ...]], ...]):
    """This session's classes from uploads and snapshots, decoded once."""
    return from_class_images(dict(classes))


def read_zip():
    upload = st.file_uploader(
        _("Zip of class folders"), type=["zip"], key="transfer.zip",
        help=_("Laid out as class_name/image.jpg; at most {files} files and {mb} MB unpacked.").format(
            files=f"{MAX_FILES:,}", mb=MAX_BYTES // 1_000_000
        ),
    )  # fmt: skip
    if upload is None:
        session_zip_images.clear()
        return None
    refused = st.session_state.get(ZIP_REFUSED)
    if refused is not None and refused[0] == upload.file_id:
        st.error(refused[1])
        return None
    try:
        with st.spinner(_("Unpacking and reading the zip…")):
            return session_zip_images(upload.file_id, upload.getvalue())
    except CvvizError as exc:
        st.session_state[ZIP_REFUSED] = (upload.file_id, str(exc))
        st.error(str(exc))
        return None


def read_classes():
    count = st.number_input(_("Classes"), MIN_CLASSES, 8, MIN_CLASSES, key="transfer.class_count")
    camera = st.toggle(_("Add webcam snapshots"), key="transfer.camera")
    columns = st.columns(min(int(count), 4))
    classes = []
    for index in range(int(count)):
        column = columns[index % len(columns)]
        with column.container(border=True):
            name = st.text_input(
                _("Name of class {n}").format(n=index + 1), _("class {n}").format(n=index + 1),
                key=f"transfer.class.{index}",
            )  # fmt: skip
            uploads = st.file_uploader(
                _("Images"), type=IMAGE_TYPES, accept_multiple_files=True, key=f"transfer.files.{index}"
            )
            snaps = st.session_state.setdefault(f"transfer.snaps.{index}", {})
            if camera:
                shot = st.camera_input(_("Snapshot"), key=f"transfer.shot.{index}")
                if shot is not None:
                    snaps.setdefault(shot.file_id, shot.getvalue())
                if snaps and st.button(_("Forget the snapshots"), key=f"transfer.forget.{index}"):
                    snaps.clear()
            encoded = tuple(u.getvalue() for u in uploads or ()) + tuple(snaps.values())
            st.caption(ngettext("{n} image", "{n} images", len(encoded)).format(n=len(encoded)))
            classes.append((name, encoded))
    return class_images(tuple(classes))


def try_it(head, classes, owner, prefix: str) -> None:
    """A new image (an upload, else the sidebar's) read by ``head``, with Grad-CAM for one of ``classes``;
    ``owner`` (the run or the loaded head) keys the Grad-CAM kept for the page's reruns."""
    try_left, try_right = st.columns(2)
    shot = try_left.file_uploader(_("A new image"), type=IMAGE_TYPES, key=f"{prefix}.try")
    if shot is None:
        image = selection.image
        try_left.caption(_("Or the sidebar's image is used."))
    else:
        try:
            image = decode_image(shot.getvalue())
        except CvvizError as exc:
            try_left.error(str(exc))
            return
    probabilities = predict_with_head(loaded, head, image.image, cache=workbench().results)
    best = int(probabilities.argmax())
    try_right.markdown(
        _("Read as **{name}** ({p:.1f}%).").format(name=classes[best], p=100 * probabilities[best])
    )
    try_right.plotly_chart(probabilities_figure(probabilities, classes), key=f"{prefix}.try_chart")
    try_right.caption(
        _("The head knows only your classes: anything else is read as the one it resembles most.")
    )
    cam_class = try_right.selectbox(
        _("Grad-CAM for the class"), range(len(classes)), index=best, format_func=classes.__getitem__,
        key=f"{prefix}.cam_class",
    )  # fmt: skip
    cams = st.session_state.setdefault(f"{prefix}.cams", {})
    cam_key = (id(owner), image.fingerprint, cam_class)
    if cam_key not in cams:
        try:
            with st.spinner(_("Computing Grad-CAM…")):
                cams.clear()
                cams[cam_key] = new_class_grad_cam(loaded, head, image.image, cam_class, classes)
        except CvvizError as exc:
            try_right.error(str(exc))
    if cam_key in cams:
        crop = np.asarray(to_display_image(image.image, loaded.spec).convert("RGB"))
        title = _("Grad-CAM: {name}").format(name=classes[cam_class])
        try_left.plotly_chart(
            saliency_grid_figure(crop, [(title, cams[cam_key].map)], "positive"), key=f"{prefix}.cam"
        )


def read_head():
    """The head the visitor uploads (its .pt and .json, as the page exports them), loaded by the library
    for the sidebar's backbone and kept for the session until a file or the backbone changes."""
    pt_column, json_column = st.columns(2)
    state = pt_column.file_uploader(
        _("Head or fine-tuned network (.pt)"), type=["pt", "pth"], key="transfer.head_pt"
    )
    meta = json_column.file_uploader(_("Its classes (.json)"), type=["json"], key="transfer.head_json")
    if state is None or meta is None:
        st.caption(_("Both files the page downloads are needed: the state_dict and the JSON of its classes."))
        st.session_state.pop(HEAD_LOADED, None)
        return None
    key = (state.file_id, meta.file_id, loaded.key)
    kept = st.session_state.get(HEAD_LOADED)
    if kept is None or kept[0] != key:
        try:
            with st.spinner(_("Loading the head…")):
                kept = (key, load_head(state.getvalue(), meta.getvalue(), loaded))
        except CvvizError as exc:
            st.session_state.pop(HEAD_LOADED, None)
            st.error(str(exc))
            return None
        st.session_state[HEAD_LOADED] = kept
    return kept[1]


selection = current_selection()
st.title(_("Transfer-learning lab"))
st.caption(
    _(
        "Teach a pretrained backbone your own classes from a few images each. Its pooled features are "
        "extracted once per image; a linear probe or a small MLP learns on them in a moment, or the last "
        "stages are fine-tuned on a private copy of the model. Accuracy is measured on images each fold "
        "held out."
    )
)

loaded = selection.model
with st.expander(_("Load a head you exported"), expanded=HEAD_LOADED in st.session_state):
    st.caption(
        _("A head (or fine-tuned network) downloaded from this page reads new images again, on the backbone it was trained on: {model} is chosen in the sidebar.").format(model=loaded.spec.title)
    )  # fmt: skip
    head = read_head()
    if head is not None:
        st.success(
            _("Loaded: {mode} on {model}, classes {classes}.").format(
                mode=_(MODE_TITLES[head.mode]), model=loaded.spec.title, classes=", ".join(head.classes)
            )
        )
        try_it(head, head.classes, head, "transfer.loaded")

source = st.radio(
    _("Images"),
    tuple(SOURCES),
    format_func=lambda key: _(SOURCES[key]),
    horizontal=True,
    key="transfer.source",
)
try:
    data = {"shapes": drawn_shapes, "zip": read_zip, "classes": read_classes}[source]()
except CvvizError as exc:
    st.error(str(exc))
    st.stop()
if data is None:
    st.info(
        _(
            "Upload a zip laid out as class_name/image.jpg, at least {classes} classes with {images} images each."
        ).format(classes=MIN_CLASSES, images=MIN_PER_CLASS)
    )
    st.stop()
st.info(data.description, icon=":material/dataset:")
for note in data.notes:
    st.warning(note)
try:
    check_minimum(data)
except CvvizError as exc:
    st.warning(str(exc), icon=":material/info:")
    st.stop()

with st.expander(
    _("{images} images in {classes} classes").format(images=len(data), classes=len(data.classes)),
    expanded=False,
):
    for index, name in enumerate(data.classes):
        chosen = [i for i, label in enumerate(data.labels) if label == index][:SHOWN_PER_CLASS]
        count = data.counts[name]
        st.caption(f"**{name}** · " + ngettext("{n} image", "{n} images", count).format(n=count))
        st.image([data.images[i] for i in chosen], width=72)

untrained_banner(loaded)
st.markdown(_("Backbone: **{model}** (choose another in the sidebar).").format(model=loaded.spec.title))

left, middle, right = st.columns(3)
mode = left.radio(
    _("Mode"), MODES, format_func=lambda key: _(MODE_TITLES[key]), key="transfer.mode",
    help=_("A linear probe and the MLP learn on the frozen features; fine-tuning also changes the last stages."),
)  # fmt: skip
rarest = min(data.counts.values())
if rarest > 2:
    folds = int(
        middle.slider(
            _("Folds (stratified K-fold)"), 2, min(10, rarest), min(5, rarest), key="transfer.folds"
        )
    )
else:
    folds = 2
    middle.caption(_("2 folds: the smallest class has 2 images, so each fold holds out one of them."))
seed = int(middle.number_input(_("Seed"), 0, 10**6, 0, key="transfer.seed"))
settings = None
if mode == "finetune":
    stages = len(loaded.spec.stages)
    try:
        settings = FinetuneSettings(
            stages=int(right.slider(_("Last stages fine-tuned"), 0, stages, 1, key="transfer.stages")),
            epochs=int(right.slider(_("Epochs"), 1, 10, 2, key="transfer.epochs")),
            lr=float(
                right.select_slider(
                    _("Learning rate of those stages"),
                    (1e-5, 3e-5, 1e-4, 3e-4, 1e-3),
                    1e-4,
                    key="transfer.lr",
                    format_func=lambda v: f"{v:g}",
                )
            ),
            head_lr=float(
                right.select_slider(
                    _("Learning rate of the head"),
                    (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                    1e-3,
                    key="transfer.head_lr",
                    format_func=lambda v: f"{v:g}",
                )
            ),
            folds=folds,
            seed=seed,
        )
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()
    right.caption(
        _(
            "Each of the {folds} folds fine-tunes its own copy, then one more copy learns from every image."
        ).format(folds=folds)
    )

estimate = len(data) * SECONDS_PER_IMAGE
if settings is not None:
    estimate += (folds + 1) * settings.epochs * len(data) * 3 * SECONDS_PER_IMAGE
inputs = (loaded.key, data.fingerprint, mode, folds, seed, settings)


def make_job() -> Job:
    return transfer_job(
        loaded, data, mode, folds=folds, seed=seed, settings=settings, cache=workbench().results
    )


run = long_run(
    "transfer.run", _("Teach {model}").format(model=loaded.spec.title), inputs, make_job, estimate_s=estimate
)
if run is None:
    st.stop()
result = run.result

a, b, c, d = st.columns(4)
a.metric(
    _("{folds}-fold accuracy").format(folds=result.folds),
    f"{100 * result.acc_mean:.1f}% ± {100 * result.acc_std:.1f}%",
)
b.metric(_("Chance"), f"{100 / len(result.classes):.0f}%")
c.metric(_("Training time"), f"{result.seconds:.1f} s")
d.metric(_("Features per image"), f"{run.features.dim:,}")
st.caption(
    _(
        "Features come from the input of {layer}; {computed} images were run through the backbone this time, the rest came from the cache."
    ).format(layer=f"`{run.features.layer}`", computed=run.features.computed)
)

matrix_column, class_column = st.columns([3, 2])
with matrix_column:
    st.subheader(_("Confusion matrix (held-out predictions)"))
    event = st.plotly_chart(
        confusion_figure(result.confusion, result.classes, pickable=True), key="transfer.confusion", on_select="rerun",
        selection_mode="points",
    )  # fmt: skip
with class_column:
    st.subheader(_("Per class"))
    st.dataframe(
        [{_("class"): name, _("accuracy"): f"{100 * acc:.1f}%", _("images"): data.counts[name]} for name, acc in result.per_class.items()],
        hide_index=True,
    )  # fmt: skip
    cell = picked_cell(event)
    if cell is None:
        st.caption(_("Click a cell of the matrix to see its images."))
    else:
        true, guess = cell
        indices = result.cell(true, guess)
        st.markdown(
            ngettext(
                "**{true}** predicted as **{guess}**: {n} image",
                "**{true}** predicted as **{guess}**: {n} images",
                len(indices),
            ).format(true=result.classes[true], guess=result.classes[guess], n=len(indices))
        )
        if len(indices):
            st.image(
                [data.images[i] for i in indices[:24]],
                caption=[data.names[i] for i in indices[:24]],
                width=80,
            )

st.subheader(_("The features in 2-D"))
p1, p2 = st.columns(2)
projection = p1.radio(
    _("Projection"),
    tuple(PROJECTIONS),
    format_func=PROJECTIONS.get,
    horizontal=True,
    key="transfer.projection",
)
thumbnails = p2.toggle(_("Show the images"), key="transfer.thumbnails")
try:
    views = [(_("Pretrained features"), run.features.features)]
    if "features_after" in result.extra:
        views.append((_("After fine-tuning"), result.extra["features_after"]))
    columns = st.columns(len(views))
    projections = st.session_state.setdefault("transfer.projections", {})
    if projections.get("run") is not run:
        projections.clear()
        projections["run"] = run
    for column, (title, features) in zip(columns, views):
        if (title, projection) not in projections:
            projections[(title, projection)] = project(features, projection, seed)
        points = projections[(title, projection)]
        column.plotly_chart(
            embedding_figure(points, data.labels, data.classes, data.names, title=title, thumbnails=data.images if thumbnails else None),
            key=f"transfer.embedding.{title}",
        )  # fmt: skip
except CvvizError as exc:
    st.error(str(exc))

st.subheader(_("Try it"))
try_it(result.head, result.classes, run, "transfer")

state, meta = export_head(result, run.features.dim)
e1, e2 = st.columns(2)
what = _("fine-tuned network") if result.mode == "finetune" else _("head")
e1.download_button(
    _("Download the {what} (state_dict)").format(what=what), state, file_name=f"{loaded.spec.name}-{result.mode}.pt",
    key="transfer.download",
    help=_("Reads a new image with `python -m cvviz transfer --head FILE.pt --predict IMAGE` (the JSON beside it)."),
)  # fmt: skip
e2.download_button(
    _("Download its classes (JSON)"), json.dumps(meta, indent=2), file_name=f"{loaded.spec.name}-{result.mode}.json",
    key="transfer.download_json",
)  # fmt: skip

st.header(_("Which backbone transfers best?"))
st.caption(
    _(
        "The same images, folds and linear probe through several backbones (those whose weights are on this machine): held-out accuracy against the time taken, the point's size growing with the parameters."
    )
)
offline = [
    spec for spec in list_models() if spec.pretrained_available and available_weights(spec) == "pretrained"
]
labels = {spec.name: f"{spec.title} ({spec.name})" for spec in offline}
chosen = st.multiselect(
    _("Backbones"),
    list(labels),
    default=[n for n in COMPARED if n in labels],
    format_func=labels.get,
    key="transfer.compare",
    placeholder=_("Choose options"),
)


def compare_job() -> Job:
    def work(reporter):
        return compare_backbones(
            chosen, data, lambda name: workbench().get(name, "pretrained"), folds=folds, seed=seed,
            cache=workbench().results, reporter=reporter,
        )  # fmt: skip

    return Job(_("Comparing backbones"), work)


rows = long_run(
    "transfer.compare", _("Compare"), (tuple(chosen), data.fingerprint, folds, seed), compare_job,
    estimate_s=len(chosen) * len(data) * SECONDS_PER_IMAGE, disabled=not chosen,
)  # fmt: skip
if rows:
    st.dataframe(
        [
            {
                _("backbone"): row.title,
                _("accuracy"): f"{100 * row.acc_mean:.1f}% ± {100 * row.acc_std:.1f}%" if not row.error else row.error,
                _("seconds"): round(row.seconds, 1),
                _("parameters (M)"): round(row.params / 1e6, 1),
                _("features"): row.feature_dim,
            }
            for row in rows
        ],
        hide_index=True,
    )  # fmt: skip
    st.plotly_chart(backbones_figure(rows), key="transfer.backbones")
