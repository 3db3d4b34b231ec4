"""The one error type ingestion raises for bad input: a bilingual one-line reason."""


class IngestError(Exception):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
