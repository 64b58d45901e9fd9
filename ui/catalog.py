"""The topic pages, in the order the course meets them. ``app.py`` and the home page both read this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicPage:
    """One page of the app: its file, its title in the menu, what it teaches, and how it trains.

    ``train_button`` is the key of the button that trains the page's current settings; pages
    without one never train. ``python -m ui.prewarm`` clicks it with the default settings.
    """

    path: str
    title: str
    icon: str
    summary: str
    train_button: str | None = None


HOME = TopicPage("app_pages/home.py", "Home", ":material/school:", "What each page teaches.")

TOPIC_PAGES: tuple[TopicPage, ...] = (
    TopicPage(
        "app_pages/rnn_dimensions.py",
        "RNN shapes",
        ":material/linear_scale:",
        "What goes into a recurrent layer and what comes out: (batch, timesteps, features) in, states out, "
        "exact LSTM/GRU parameter counts checked against Keras, and a tiny RNN unrolled with real numbers.",
    ),
    TopicPage(
        "app_pages/sequence_models.py",
        "RNN vs LSTM vs GRU",
        ":material/timeline:",
        "Train a basic RNN, an LSTM and a GRU that read MNIST digits one row per timestep, and race them "
        "against a small CNN: accuracy, parameters, time per epoch and learning curves side by side.",
        train_button="train",
    ),
    TopicPage(
        "app_pages/cnn_calculator.py",
        "CNN calculator",
        ":material/calculate:",
        "Parameters, output shapes, multiply-adds and RAM (inference vs training) of any conv/pool/dense stack, "
        "each with its formula; the homework networks as presets, a checker that names classic mistakes, and Keras as referee.",
    ),
    TopicPage(
        "app_pages/cifar_cnn.py",
        "CIFAR CNN lab",
        ":material/tune:",
        "Train the homework CNNs on CIFAR-10 and sweep activation, learning rate, optimizer or initialisation; "
        "compare runs' curves, then look inside: filters, feature maps, activation statistics, saliency and Grad-CAM.",
        train_button="train",
    ),
    TopicPage(
        "app_pages/audio_models.py",
        "Audio: RF vs CNN vs LSTM",
        ":material/graphic_eq:",
        "Turn sounds into log-mel spectrograms and race a random forest, a CNN and an LSTM on them: "
        "synthetic sounds, spoken digits, your own WAVs or DATA.ML.200 Exercise 5's .npy features, with confusion matrices and curves.",
        train_button="train_all",
    ),
    TopicPage(
        "app_pages/transfer_learning.py",
        "Transfer learning",
        ":material/swap_horiz:",
        "Reuse a trained network's convolutions on a new task three ways on one split: frozen feature extraction on "
        "cached features, fine-tuning the last block, and from scratch; VGG16 when its weights are here, an in-app source CNN otherwise.",
        train_button="tl_train",
    ),
    TopicPage(
        "app_pages/feature_maps.py",
        "Cats vs dogs: feature maps",
        ":material/pets:",
        "Train seed 004's small binary CNN on cats vs dogs, then look inside: every conv layer's feature maps for "
        "an image of your choice and the first layer's 32 filters.",
        train_button="fm_train",
    ),
)
