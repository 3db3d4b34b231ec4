"""`python -m app.interfaces.model_server ARGS` runs `python -m llama_cpp.server ARGS` with the embedded model's AMX
work-around (app/reason/llm.py): on a CPU that reports AMX, llama.cpp's extra buffer types are off at load, else
the server crashes at its first decode (`ggml_backend_amx_mul_mat`). Same flags, same answers as the embedded model.
"""

from __future__ import annotations

import sys


def main() -> None:
    from llama_cpp import llama_cpp as low

    from app.reason.llm import cpu_has_amx

    if cpu_has_amx():
        default_params = low.llama_model_default_params

        def without_extra_bufts():
            params = default_params()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = without_extra_bufts  # Llama() reads it through the module attribute
        print("AMX CPU: llama.cpp extra buffer types off / 已关闭 AMX 额外缓冲区类型", file=sys.stderr)
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
