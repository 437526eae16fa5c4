"""Print the Pulumi tokens that the installed pulumi_openstack SDK uses, as JSON.

scripts/build-engine embeds the result in the provider binary, so the binary serves exactly the
resource and function tokens of the pinned SDK. Run with the project's venv Python.
"""

import json
import pathlib
import re
import sys

import pulumi_openstack

root = pathlib.Path(pulumi_openstack.__file__).parent
init = (root / "__init__.py").read_text()
# The SDK registers every resource class with the runtime in this JSON block.
block = re.search(r'resource_modules="""(.*?)"""', init, re.S)
if block is None:
    sys.exit(f"{root / '__init__.py'}: no resource_modules block; is this a Pulumi-generated SDK?")
resources = sorted({tok for module in json.loads(block.group(1)) for tok in module["classes"]})
invoke = re.compile(r"pulumi\.runtime\.invoke(?:_output|_single)?\(\s*'(openstack:[^']+)'")
functions = sorted({tok for f in root.rglob("*.py") for tok in invoke.findall(f.read_text())})
plugin = json.loads((root / "pulumi-plugin.json").read_text())
json.dump(
    {"version": plugin["version"], "resources": resources, "functions": functions},
    sys.stdout,
    indent=1,
)
print()
