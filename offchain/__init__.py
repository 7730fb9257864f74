"""l2kit: an Ethereum-native Layer-2 toolkit.

A rollup with a decentralized sequencer and the EMETH compute marketplace.
"""

__version__ = "0.1.0"
