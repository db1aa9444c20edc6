# cvviz in one image: the app on CPU torch, with pretrained weights fetched at build time so that a kiosk
# or an offline replica never downloads at run time. See docs/deployment.md for N replicas behind a proxy.
#
#   docker build -t cvviz .
#   docker build -t cvviz --build-arg CVVIZ_WEIGHTS="--all" .     # every catalog checkpoint (~6 GB)
#   docker run -p 8501:8501 cvviz                                  # then http://localhost:8501
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCH_HOME=/opt/cvviz/torch \
    CVVIZ_CACHE_DIR=/opt/cvviz/cache \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0

WORKDIR /app

# CPU-only torch and torchvision from PyTorch's CPU wheel index (no CUDA libraries: ~1.5 GB smaller),
# pinned to the versions requirements.txt names, then the rest of requirements.txt.
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu \
        "torch==$(sed -n 's/^torch==//p' requirements.txt)" \
        "torchvision==$(sed -n 's/^torchvision==//p' requirements.txt)" \
    && pip install -r requirements.txt

COPY . .

# Weights for the models named (catalog names, or --all) go into the image's torch cache; the catalog's
# parameter and MAC counts are computed once into the cvviz cache, so the first page draws at once.
# DINO ViT-S/16, its supervised twin DeiT-S and MAE ViT-B (about 0.6 GB together) serve the
# self-supervised page, which a kiosk offers.
ARG CVVIZ_WEIGHTS="resnet18 resnet50 vgg16 squeezenet1_1 mobilenet_v3_large vit_b_16 swin_t convnext_tiny dino_vits16 deit_s16 mae_vitb16"
RUN python -m cvviz weights fetch ${CVVIZ_WEIGHTS} \
    && python -m cvviz models > /dev/null \
    && useradd --create-home --uid 1000 cvviz \
    && mkdir -p /opt/cvviz/cache && chown -R cvviz /opt/cvviz

# Never download at run time: the weights above are what this image serves (others run untrained).
ENV CVVIZ_OFFLINE=1
USER cvviz
EXPOSE 8501

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; port = os.environ.get('STREAMLIT_SERVER_PORT', '8501'); assert urllib.request.urlopen(f'http://127.0.0.1:{port}/_stcore/health', timeout=4).read() == b'ok'"

CMD ["streamlit", "run", "app.py", "--server.headless=true", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
