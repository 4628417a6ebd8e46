#!/usr/bin/python3
"""Writes tests/fixtures/chat_templates/cases.json: expected chat-template renderings from Jinja2.

Uses Debian's python3-jinja2 (run with /usr/bin/python3) configured the way Hugging Face transformers
configures it in chat_template_utils._compile_jinja_template:
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, generation tag])
  filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)
  globals["raise_exception"] raises TemplateError, globals["strftime_now"] formats the current time
and renders with messages=..., tools=None, documents=None, add_generation_prompt=..., **special_tokens, **kwargs.

Two parts:
  cases:    the four chat templates of ../shared/refs/chat_templates/ (read there at test time, never copied)
            on a set of conversations, with and without the generation prompt.
  features: small inline templates exercising one Jinja feature each (whitespace control, filters, tests,
            slicing, scoping ...), with their expected output or "error": true where Jinja rejects them.

Usage: /usr/bin/python3 tools/gen_chat_fixtures.py [--shared ../shared] [--out tests/fixtures/chat_templates/cases.json]
"""
import argparse
from datetime import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """transformers' {% generation %} tag (AssistantTracker); renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()


def render(source, messages, add_generation_prompt, extra):
    ctx = {"tools": None, "documents": None}
    ctx.update(extra)
    return ENV.from_string(source).render(messages=messages, add_generation_prompt=add_generation_prompt, **ctx)


TEMPLATES = {
    "qwen2.5": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "qwen3": "Qwen-Qwen3-0.6B.jinja",
    "qwq": "Qwen-QwQ-32B.jinja",
    "r1-distill": "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
}

# Special tokens that transformers passes (tokenizer.special_tokens_map) for each model.
SPECIAL = {
    "qwen2.5": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwq": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "r1-distill": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
                   "pad_token": "<｜end▁of▁sentence｜>"},
}

SYS = {"role": "system", "content": "You are a helpful assistant. Put the final answer in \\boxed{}."}
Q1 = {"role": "user", "content": "What is 2 + 3?"}
A1 = {"role": "assistant", "content": "2 + 3 = 5. The answer is \\boxed{5}."}
A1_THINK = {"role": "assistant",
            "content": "<think>\nThe user asks for 2 + 3.\nThat is 5.\n</think>\n\nThe answer is \\boxed{5}."}
Q2 = {"role": "user", "content": "And 7 * 6?\nShow your work."}
A2_THINK = {"role": "assistant", "content": "<think>\n7 * 6 = 42\n</think>\n\n42"}
UNICODE = {"role": "user",
           "content": "Résumé: 数学问题 — solve x² = 4 🙂. Tabs\tand {{ braces }} and {% tags %} and 'quotes' \"too\"\r\nend"}

TOOLS = [{"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an arithmetic expression, e.g. \"1+2\"",
    "parameters": {"type": "object", "properties": {"expr": {"type": "string", "description": "expression"},
                                                     "precision": {"type": "integer", "default": 2}},
                   "required": ["expr"]}}}]
TOOL_CALL_ASSISTANT = {"role": "assistant", "content": "",
                       "tool_calls": [{"type": "function", "function": {"name": "calculator",
                                                                        "arguments": {"expr": "7*6", "precision": 0}}}]}
TOOL_RESULT = {"role": "tool", "content": "42"}
TOOL_RESULT2 = {"role": "tool", "content": "{\"ok\": true}"}

CONVERSATIONS = [
    ("user_only", [Q1], {}),
    ("system_user", [SYS, Q1], {}),
    ("multi_turn", [SYS, Q1, A1, Q2], {}),
    ("multi_turn_think", [Q1, A1_THINK, Q2], {}),
    ("final_assistant_think", [SYS, Q1, A1_THINK, Q2, A2_THINK], {}),
    ("unicode", [SYS, UNICODE], {}),
    ("empty_content", [{"role": "user", "content": ""}], {}),
]

# Per-template extra conversations (features only some templates have).
EXTRA = {
    "qwen3": [
        ("no_thinking", [SYS, Q1], {"enable_thinking": False}),
        ("thinking_true", [SYS, Q1], {"enable_thinking": True}),
        ("reasoning_content", [Q1, {"role": "assistant", "content": "5", "reasoning_content": "2+3=5"},
                               Q2, {"role": "assistant", "content": "42", "reasoning_content": "\n6*7\n"}], {}),
        ("tools", [SYS, Q2, TOOL_CALL_ASSISTANT, TOOL_RESULT, TOOL_RESULT2], {"tools": TOOLS}),
        ("tools_string_args", [Q2, {"role": "assistant", "content": "Let me compute.",
                                    "tool_calls": [{"function": {"name": "calculator",
                                                                 "arguments": "{\"expr\": \"7*6\"}"}}]},
                               TOOL_RESULT], {"tools": TOOLS}),
        ("tool_response_user", [Q1, {"role": "user", "content": "<tool_response>\nx\n</tool_response>"}], {}),
    ],
    "qwen2.5": [
        ("tools", [Q2, TOOL_CALL_ASSISTANT, TOOL_RESULT, TOOL_RESULT2], {"tools": TOOLS}),
        ("tools_with_system", [SYS, Q2], {"tools": TOOLS}),
    ],
    "qwq": [
        ("tools", [SYS, Q2, {"role": "assistant", "content": "<think>use tool</think>ok",
                             "tool_calls": [{"function": {"name": "calculator", "arguments": {"expr": "7*6"}}}]},
                   TOOL_RESULT], {"tools": TOOLS}),
    ],
    "r1-distill": [
        ("tool_calls", [SYS, Q2, {"role": "assistant", "content": None,
                                  "tool_calls": [{"type": "function", "function": {"name": "calculator",
                                                                                   "arguments": "{\"expr\": \"7*6\"}"}},
                                                 {"type": "function", "function": {"name": "calculator",
                                                                                   "arguments": "{\"expr\": \"1\"}"}}]},
                        TOOL_RESULT, TOOL_RESULT2, {"role": "assistant", "content": "42"}], {}),
        ("ends_with_tool", [Q2, TOOL_RESULT], {}),
        ("no_bos", [Q1], {"bos_token": ""}),
    ],
}

# tokenizer_config.json files (../shared/refs/model_configs/): their own chat_template, rendered with the special
# tokens transformers passes (special_tokens_map: named tokens that are set, plus additional_special_tokens).
CONFIGS = {
    "r1-distill-config": "deepseek_r1_distill_qwen_32b/tokenizer_config.json",
    "qwen3-config": "qwen3_30b/tokenizer_config.json",
}
SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]


def special_tokens_map(cfg):
    out = {}
    for k in SPECIAL_KEYS:
        v = cfg.get(k)
        if isinstance(v, dict):
            v = v.get("content")
        if isinstance(v, str):
            out[k] = v
    if isinstance(cfg.get("additional_special_tokens"), list):
        out["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t
                                            for t in cfg["additional_special_tokens"]]
    return out


# Small templates exercising one feature each: (source, context). Rendered with messages=[] unless the
# context sets messages, add_generation_prompt=False unless set.
FEATURES = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, trailing newline
    "  {% if true %}\n  x\n  {% endif %}\n  y  {{ 1 }}  \n  {# c #}\nz",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "a\n{%+ if true %}\n  b {{- ' c ' -}} d\n{% endif +%}\ne",
    "line1\n    {%- set x = 1 %}\n\t{% set y = 2 %}\n{{ x + y }}\n",
    "keep\n\n",
    "a\r\nb\rc\n{{ 'x\r\ny' }}",
    "{# comment {{ not }} {% output %} #}after",
    "x {#- c -#} y",
    "{% raw %}{{ not rendered }}{% endraw %}!",
    "  {{ 'var' }}\n{%- for i in range(2) %}\n  {{ i }}\n{% endfor %}",
    "{% for i in range(3) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}",
    # literals, escapes, arithmetic, printing Python values
    "{{ 'it\\'s' }} {{ \"q\\\"q\" }} {{ 'a\\tb\\\\n' }} {{ '\\u00e9\\x41\\d' }} {{ 'ab' 'cd' }}",
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 / 4 }} {{ 4 / 2 }}",
    "{{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1.5e-7 }} {{ 0.1 + 0.2 }} {{ 1_000 }} {{ 0x1F }} {{ 3.0 }}",
    "{{ none }} {{ true }} {{ False }} {{ [1, 'a', none, true, 2.5] }} {{ (1,) }} {{ (1, 'b') }} {{ {'k': 'v', 'n': [1]} }}",
    "{{ \"it's\" }} {{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'nl\\n'] }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ [1] }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1, 2] + [3] }} {{ -(3) }} {{ +4 }}",
    # comparisons and boolean logic
    "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 2 > 1 > 0 }} {{ 1 != 2 }} {{ none == none }}",
    "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ not 'a' in 'b' }}",
    "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }} {{ not none }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}]",
    # variables, attribute and item access, undefined behaviour
    "[{{ missing }}] [{{ missing ~ 'x' }}] {{ missing | length }} {{ missing is defined }} {{ d.a }} {{ d['a'] }} [{{ d.zz }}] [{{ d['zz'] }}]",
    "{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('zz', 7) }} {{ d.get('zz') }}",
    "{{ l[0] }} {{ l[-1] }} [{{ l[9] }}] {{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ l[5:1:-2] }} {{ l[-2:] }}",
    "{{ s[0] }} {{ s[-1] }} {{ s[::-1] }} {{ s[1:3] }} {{ s | length }} {{ s[2:] }}",
    "{{ n.x }} [{{ n.x.y }}]",
    "{{ l.0 }} {{ nested['a'][0]['b'] }} {{ nested.a[0].b }}",
    # tests
    "{{ x is none }} {{ x is not none }} {{ x is string }} {{ x is number }} {{ x is mapping }} {{ x is iterable }} {{ x is sequence }} {{ x is defined }} {{ x is boolean }} {{ x is integer }} {{ x is float }}",
    "{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 2 is eq 2 }} {{ 2 is sameas 2 }} {{ 1 is in [1] }} {{ 2 is gt 1 }} {{ 'x' is callable }} {{ range is callable }}",
    "{{ t is true }} {{ t is false }} {{ f is false }} {{ missing is undefined }} {{ [] is sequence }} {{ {} is mapping }}",
    # filters
    "{{ '  pad  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'Hello' | upper }} {{ 'Hello' | lower }} {{ 'hello world' | capitalize }} {{ 'hello big-world (x' | title }}",
    "{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'a'] | sort }} {{ [1, 2] | join(', ') }} {{ [1, 2] | join }} {{ 'abc' | list }} {{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }}",
    "{{ [1, 2] | length }} {{ {'a': 1} | length }} {{ 'héllo' | length }} {{ [1, 2] | count }} {{ [1, 5, 2] | max }} {{ [4, 5, 2] | min }} {{ [1, 2, 3] | sum }} {{ [1, 1, 2] | unique | list }}",
    "{{ missing | default('dflt') }} {{ '' | default('dflt') }} {{ '' | default('dflt', true) }} {{ none | default('x') }} {{ 0 | d('z', boolean=true) }}",
    "{{ 3.7 | int }} {{ '42' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ '3.5' | float }} {{ 2 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.2 | round(0, 'ceil') }} {{ 3.7 | round(method='floor') }}",
    "{{ 42 | string }} {{ none | string }} {{ [1, 'a'] | string }} {{ 'a' | string ~ 'b' }} {{ 'a,b,,c'.split(',') }} {{ ' a  b\\tc\\n'.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a.b.c'.rsplit('.', 1) }}",
    "{{ '  x  '.strip() }}|{{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'x\\n\\n'.rstrip() }}|{{ 'abcba'.strip('ab') }}|{{ 'aXbXc'.replace('X', '-') }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'ab'.replace('', '.') }}",
    "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ '-'.join(['a', 'b']) }}",
    "{{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | items | list }} {{ [{'n': 'x'}, {'n': 'y'}] | map(attribute='n') | join('+') }} {{ ['a', 'b'] | map('upper') | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }}",
    "{{ users | selectattr('active') | map(attribute='name') | list }} {{ users | rejectattr('active') | map(attribute='name') | list }} {{ users | selectattr('name', 'equalto', 'b') | list | length }} {{ users | map(attribute='age', default=0) | list }}",
    "{{ 'line1\\nline2\\n\\nline3' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(width=1, blank=true) }}",
    "{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | safe }} {{ 'one two  three' | wordcount }} {{ 'abc' | center(7) }}|",
    # transformers' tojson
    "{{ [1, 'a', none, true, 1.5, {'k': 'v\\n'}] | tojson }} {{ 'é<>&\\'' | tojson }} {{ {'a': [1, 2], 'b': {}} | tojson(indent=2) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ [1, 2] | tojson(separators=(',', ':')) }} {{ '\\u0001\\u001f\\u007f' | tojson }}",
    "{{ tools | tojson }}|{{ tools[0] | tojson(indent=4) }}",
    # loops
    "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
    "{% for x in l %}{{ loop.previtem }}>{{ x }}>{{ loop.nextitem }};{% endfor %}",
    "{% for x in l if x != 2 %}{{ loop.index }}:{{ x }}/{{ loop.length }} {% endfor %}",
    "{% for x in [] %}x{% else %}empty{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for c in 'ab' %}{{ c }}.{% endfor %}",
    "{% for x in l %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for row in [[1, 2], [3]] %}{% for x in row %}{{ loop.index }}{{ x }}{% endfor %};{% endfor %}",
    "{% for x in l %}{{ loop.cycle('odd', 'even') }} {% endfor %}",
    "{% for i in range(3) %}{{ i }}{% endfor %} {% for i in range(1, 7, 2) %}{{ i }}{% endfor %} {% for i in range(3, 0, -1) %}{{ i }}{% endfor %} {{ range(3) | list }}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }} {% endfor %}",
    # scoping and set
    "{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = x + 1 %}{{ x }};{% endfor %}{{ x }}",
    "{% for i in range(3) %}{% if i == 0 %}{% set y = 5 %}{% endif %}{{ y }};{% endfor %}",
    "{% if true %}{% set z = 3 %}{% endif %}{{ z }} {% for q in [1] %}{% endfor %}[{{ q }}]",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}",
    "{% set ns = namespace(count=0, items=[]) %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.count }} {{ ns.items }}",
    "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}",
    "{% set block %}inner {{ 1 + 1 }}{% endset %}[{{ block }}] {% set up | upper %}shout{% endset %}{{ up }}",
    "{% with a = 5 %}{{ a }}{% endwith %}[{{ a }}]",
    # macros, filter blocks, misc
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}",
    "{% filter upper %}shout {{ 'this' }}{% endfilter %}",
    "{% generation %}gen {{ 1 }}{% endgeneration %}",
    "{{ raise_exception('custom failure') }}",
    "{% if messages[0]['role'] != 'system' %}{{ raise_exception('first message must be system') }}{% endif %}",
    "{% if x is defined %}{{ x }}{% elif y is defined %}{{ y }}{% else %}neither{% endif %}",
    "{{ messages | length }} {{ messages[-1].content }} {{ messages[0]['role'] }} {{ (messages | last).role }}",
    "{{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {{ {'a': 1}.a }} {{ {1: 'one'}[1] }}",
    "{{ d.items() }} {{ d.keys() }} {{ d.values() }} {{ range(3) }} {{ range(1, 9, 3) }} {{ [range(2)] }} {{ range(3) | list }}",
    "{{ '%s and %r' % ('a', 'b') }} {{ '%d|%5.2f|%-4s|%03d|%x' % (7, 3.14159, 'ab', 5, 255) }} {{ '%(k)s!' % {'k': 'v'} }} {{ 'plain' % [] }} {{ '%s' % none }} {{ '100%%' % () }}",
    "{{ false | select('odd') | list }} {{ 0 | map('string') | list }} {{ none | selectattr('x') | list }} {{ [] | map(attribute='x') | list }}",
    "{{ x[] }} {{ {}['k'] }} {{ s.x }}",
]

# Templates Jinja rejects (parse or render time).
ERROR_FEATURES = [
    "{% if x %}never closed",
    "{{ x | nosuchfilter }}",
    "{{ 'unterminated }}",
    "{{ x is nosuchtest }}",
    "{% for x in y %}{% endif %}",
    "{{ 1 + }}",
    "{% nosuchtag %}",
    "{{ missing.attr }}",
    "{{ 'a' + 1 }}",
    "{{ 1 / 0 }}",
    "{{ x", 
    "{# unclosed comment",
    "{% set ns = namespace(a=1) %}{% set d.x = 1 %}",
    "{{ [1, 2 }}",
    "{{ [[1], 2] | unique | list }}",
    "{{ [] in {'a': 1} }}",
    "{{ n[1:] }}",
    "{{ d[1:] }}",
    "{{ 5 | indent }}",
    "{{ 'a %s %s' % ('x',) }}",
    "{{ 'a' % 5 }}",
]

FEATURE_CONTEXT = {
    "d": {"a": 1, "b": [1, 2]},
    "l": [1, 2, 3, 4, 5],
    "s": "héllo wörld",
    "n": None,
    "nested": {"a": [{"b": "deep"}]},
    "x": "str",
    "t": True,
    "f": False,
    "users": [{"name": "a", "active": True, "age": 3}, {"name": "b", "active": False}, {"name": "c", "active": 1}],
    "tools": TOOLS,
}
FEATURE_MESSAGES = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--shared", default=os.path.join(root, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "chat_templates", "cases.json"))
    args = ap.parse_args()
    tdir = os.path.join(args.shared, "refs", "chat_templates")

    cases = []
    for key, fname in TEMPLATES.items():
        with open(os.path.join(tdir, fname), encoding="utf-8", newline="") as fh:
            source = fh.read()
        for name, messages, extra in CONVERSATIONS + EXTRA.get(key, []):
            for agp in (False, True):
                ctx = dict(SPECIAL[key])
                ctx.update(extra)
                out = render(source, messages, agp, ctx)
                cases.append({"template": key, "name": f"{key}/{name}/{'gen' if agp else 'nogen'}",
                              "messages": messages, "add_generation_prompt": agp, "extra_context": ctx,
                              "expected": out})

    config_cases = []
    cdir = os.path.join(args.shared, "refs", "model_configs")
    for key, rel in CONFIGS.items():
        with open(os.path.join(cdir, rel), encoding="utf-8") as fh:
            cfg = json.load(fh)
        special = special_tokens_map(cfg)
        for name, messages, extra in CONVERSATIONS[:5]:
            for agp in (False, True):
                out = render(cfg["chat_template"], messages, agp, dict(special))
                config_cases.append({"config": rel, "name": f"{key}/{name}/{'gen' if agp else 'nogen'}",
                                     "messages": messages, "add_generation_prompt": agp,
                                     "special_tokens": special, "expected": out})

    features = []
    for src in FEATURES:
        ctx = dict(FEATURE_CONTEXT)
        try:
            out = render(src, FEATURE_MESSAGES, False, ctx)
            features.append({"source": src, "expected": out})
        except jinja2.exceptions.TemplateError as e:
            # raise_exception and other template errors are expected failures too.
            features.append({"source": src, "error": True, "jinja_error": f"{type(e).__name__}: {e}"})
    for src in ERROR_FEATURES:
        try:
            out = render(src, FEATURE_MESSAGES, False, dict(FEATURE_CONTEXT))
            sys.exit(f"expected a Jinja error for {src!r}, got {out!r}")
        except Exception as e:  # TemplateSyntaxError, UndefinedError, TypeError, ZeroDivisionError ...
            features.append({"source": src, "error": True, "jinja_error": f"{type(e).__name__}: {e}"})

    doc = {
        "generator": "tools/gen_chat_fixtures.py",
        "jinja2_version": jinja2.__version__,
        "environment": "ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) + transformers tojson/raise_exception",
        "templates": TEMPLATES,
        "feature_context": FEATURE_CONTEXT,
        "feature_messages": FEATURE_MESSAGES,
        "cases": cases,
        "config_cases": config_cases,
        "features": features,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    print(f"wrote {args.out}: {len(cases)} template cases, {len(config_cases)} tokenizer_config cases, "
          f"{len(features)} feature cases (jinja2 {jinja2.__version__})")


if __name__ == "__main__":
    main()
