"""Exercism-shaped trees of our own for the importer's tests and benchmark: tiny exercises (a
few lines each) in each track's layout, never upstream content."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

MIT = "MIT License\n\nCopyright (c) a test\n\nPermission is hereby granted, free of charge, to any person ...\n"


def exercise(track: Path, slug: str, *, example: str = "return 2 * x", stub: str = "pass",
             config: dict | None = None, docs: dict[str, str] | None = None, extra: dict[str, str] | None = None,
             drop: tuple[str, ...] = ()) -> Path:
    """A Python exercise ``slug`` whose one test checks ``double(2) == 4``."""
    folder = track / "exercises" / "practice" / slug
    module = slug.replace("-", "_")
    files = {
        ".docs/instructions.md": f"# {slug}\n\nWrite `double(x)`, returning twice `x`.\n",
        ".meta/config.json": json.dumps(config if config is not None else {
            "files": {"solution": [f"{module}.py"], "test": [f"{module}_test.py"], "example": [".meta/example.py"]},
            "blurb": f"Double a number ({slug})."}),
        ".meta/example.py": f"def double(x):\n    {example}\n",
        f"{module}.py": f"def double(x):\n    {stub}\n",
        f"{module}_test.py": textwrap.dedent(f"""\
            import unittest
            from {module} import double

            class DoubleTest(unittest.TestCase):
                def test_two(self):
                    self.assertEqual(double(2), 4)
            """),
        **{f".docs/{name}": text for name, text in (docs or {}).items()},
        **(extra or {}),
    }
    for rel, text in files.items():
        if rel in drop:
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


# One tiny exercise per polyglot language, in each track's own shape: (files, solution, test,
# example); the stub doubles nothing, the example doubles, and a second test is skipped the way the
# track skips all but the first (the runners run it anyway).
POLYGLOT: dict[str, tuple[dict[str, str], list[str], list[str], list[str]]] = {
    "go": ({
        "go.mod": "module doubler\n\ngo 1.18\n",
        "doubler.go": "package doubler\n\nfunc Double(x int) int {\n\tpanic(\"implement Double\")\n}\n",
        ".meta/example.go": "package doubler\n\nfunc Double(x int) int {\n\treturn 2 * x\n}\n",
        "doubler_test.go": "package doubler\n\nimport \"testing\"\n\nfunc TestDouble(t *testing.T) {\n"
                           "\tif Double(2) != 4 || Double(-3) != -6 {\n\t\tt.Fatal(\"not doubled\")\n\t}\n}\n",
    }, ["doubler.go"], ["doubler_test.go"], [".meta/example.go"]),
    "rust": ({
        "Cargo.toml": "[package]\nname = \"doubler\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ".gitignore": "/target\n",
        "src/lib.rs": "pub fn double(x: i64) -> i64 {\n    todo!(\"double {x}\")\n}\n",
        ".meta/example.rs": "pub fn double(x: i64) -> i64 {\n    2 * x\n}\n",
        "tests/doubler.rs": "use doubler::double;\n\n#[test]\nfn two() {\n    assert_eq!(double(2), 4);\n}\n\n"
                            "#[test]\n#[ignore]\nfn negative() {\n    assert_eq!(double(-3), -6);\n}\n",
    }, ["src/lib.rs", "Cargo.toml"], ["tests/doubler.rs"], [".meta/example.rs"]),
    "javascript": ({
        "package.json": '{"name": "doubler", "private": true, "scripts": {"test": "jest"}}\n',
        "babel.config.js": "module.exports = { presets: [['@babel/preset-env', { targets: { node: 'current' } }]] };\n",
        "doubler.js": "export const double = (x) => {\n  throw new Error('implement double');\n};\n",
        ".meta/proof.ci.js": "export const double = (x) => 2 * x;\n",
        "doubler.spec.js": "import { double } from './doubler';\n\ndescribe('double', () => {\n"
                           "  test('two', () => expect(double(2)).toBe(4));\n"
                           "  xtest('negative', () => expect(double(-3)).toBe(-6));\n});\n",
    }, ["doubler.js"], ["doubler.spec.js"], [".meta/proof.ci.js"]),
    "cpp": ({
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.5)\nproject(doubler CXX)\n",
        "doubler.h": "#pragma once\nnamespace doubler { int twice(int x); }\n",
        "doubler.cpp": "#include \"doubler.h\"\nnamespace doubler { int twice(int x) { return x; } }\n",
        ".meta/example.h": "#pragma once\nnamespace doubler { int twice(int x); }\n",
        ".meta/example.cpp": "#include \"doubler.h\"\nnamespace doubler { int twice(int x) { return 2 * x; } }\n",
        "test/catch.hpp": "#include <catch2/catch.hpp>\n",  # stands in for the vendored Catch2 header
        "doubler_test.cpp": "#include \"doubler.h\"\n#include \"test/catch.hpp\"\n\n"
                            "TEST_CASE(\"two\") { REQUIRE(doubler::twice(2) == 4); }\n\n"
                            "#if defined(EXERCISM_RUN_ALL_TESTS)\n"
                            "TEST_CASE(\"negative\") { REQUIRE(doubler::twice(-3) == -6); }\n#endif\n",
    }, ["doubler.cpp", "doubler.h"], ["doubler_test.cpp"], [".meta/example.cpp", ".meta/example.h"]),
    "java": ({
        "build.gradle": "plugins { id 'java' }\nrepositories { mavenCentral() }\n",
        "gradlew": "#!/bin/sh\necho 'a stand-in for the Gradle wrapper'\n",
        "src/main/java/Doubler.java": "class Doubler {\n    int twice(int x) {\n        throw new "
                                      "UnsupportedOperationException(\"implement twice\");\n    }\n}\n",
        ".meta/src/reference/java/Doubler.java": "class Doubler {\n    int twice(int x) {\n        return 2 * x;\n"
                                                 "    }\n}\n",
        "src/test/java/DoublerTest.java": "import org.junit.jupiter.api.Disabled;\nimport org.junit.jupiter.api.Test;\n"
                                          "import static org.assertj.core.api.Assertions.assertThat;\n\n"
                                          "public class DoublerTest {\n    @Test\n    public void two() {\n"
                                          "        assertThat(new Doubler().twice(2)).isEqualTo(4);\n    }\n\n"
                                          "    @Disabled(\"Remove to run test\")\n    @Test\n"
                                          "    public void negative() {\n"
                                          "        assertThat(new Doubler().twice(-3)).isEqualTo(-6);\n    }\n}\n",
    }, ["src/main/java/Doubler.java"], ["src/test/java/DoublerTest.java"], [".meta/src/reference/java/Doubler.java"]),
}


def polyglot_exercise(source: Path, language: str) -> Path:
    files, solution, test, example = POLYGLOT[language]
    folder = source / language / "exercises" / "practice" / "doubler"
    files = {**files, ".docs/instructions.md": "# doubler\n\nReturn twice the number.\n",
             ".meta/config.json": json.dumps({"files": {"solution": solution, "test": test, "example": example},
                                              "blurb": f"Double a number in {language}."})}
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder
