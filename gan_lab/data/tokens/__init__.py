"""Token-sequence data sets (batch kind ``token sequences``): SeqGAN's synthetic oracle
(``data=oracle_lstm``), a folder of text files (``data=text_folder``) and the English prose that
ships with every Python (``data=python_docs``)."""

from gan_lab.data.tokens.base import TokenDataModule, pseudo_words
from gan_lab.data.tokens.oracle import OracleLSTMDataModule, make_oracle
from gan_lab.data.tokens.target_params import load_target_params
from gan_lab.data.tokens.text import (
    PythonDocsDataModule,
    TextDataModule,
    TextFolderDataModule,
    tokenize,
)

__all__ = ["OracleLSTMDataModule", "PythonDocsDataModule", "TextDataModule",
           "TextFolderDataModule", "TokenDataModule", "load_target_params", "make_oracle",
           "pseudo_words", "tokenize"]
