"""The generative lab page: it runs, and a short autoencoder run started from it finishes and is explored."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "generative.py")


def test_a_short_run_started_from_the_page_finishes_and_its_latent_space_is_drawn():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(button.label == "Train" for button in at.button)
    at.selectbox(key="gen.model").set_value("gan").run()
    assert not any(slider.key == "gen.critic_steps" for slider in at.slider)
    at.selectbox(key="gen.gan_loss").set_value("wgan-gp").run()  # WGAN-GP brings its critic steps
    assert any(slider.key == "gen.critic_steps" for slider in at.slider) and not at.exception
    at.selectbox(key="gen.model").set_value("dae").run()
    at.slider(key="gen.epochs").set_value(1).run()
    at.button(key="gen.start").click().run()
    job = at.session_state["gen.live"]["job"]
    assert job.wait(timeout=60) and job.status().state == "done", job.status()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    runs = at.session_state["gen.runs"]
    assert len(runs) == 1 and runs[0]["result"].config.model == "dae"
    assert runs[0]["result"].progress.noisy is not None  # the denoising AE's noisy inputs are shown
    assert any(tab.label == "Latent space" for tab in at.tabs)


def test_a_gan_run_shows_its_samples_histogram_and_interpolations():
    from cvviz.generative import GenerativeConfig, train
    from cvviz.training.config import TrainingConfig
    from cvviz.training.data import load_digits_dataset
    from cvviz.training.loop import network_from_result
    from cvviz.training.loop import train as train_classifier

    digits = load_digits_dataset()
    judge = network_from_result(
        train_classifier(TrainingConfig(epochs=1, train_images=64, batch_size=32), dataset=digits)
    )
    gan = train(
        GenerativeConfig(model="gan", epochs=2, train_images=64, latent=8), dataset=digits, judge=judge
    )
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["gen.runs"] = [{"label": "run 1", "result": gan}]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert {"Samples over training", "Mode collapse", "Interpolation"} <= {tab.label for tab in at.tabs}
    assert any("entropy" in str(cell) for cell in at.dataframe[0].value.to_numpy().ravel())
