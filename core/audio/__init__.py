"""The audio page's topic: a random forest, a CNN and an LSTM classify the same log-mel spectrograms.

- :mod:`core.audio.features`: log-mel and MFCC settings, their batched ``tf.signal`` computation,
  a NumPy reference and cost estimates.
- :mod:`core.audio.feature_dataset`: a dataset's standardised features, cached on disk, and one clip made alike.
- :mod:`core.audio.forest`: the random forest and its cached scores.
- :mod:`core.audio.comparison`: the network configurations, the comparison table and the exercise's figures.
- :mod:`core.audio.sources`: where the sounds come from and what loading them costs.

Reading WAV files and the synthetic sounds are data loading (:mod:`core.datasets.wav`,
:mod:`core.datasets.synthetic_sounds`); the Keras builders are :mod:`core.models.audio`. This file
imports nothing, so importing one module of the topic never loads the others.
"""
