"""Turn two `dpkg-query` listings into the list of packages an upgrade changed."""


def _parse(lines):
    versions = {}
    for line in lines:
        name, _, version = line.partition("\t")
        if name and version:
            versions[name] = version
    return versions


def package_changes(after_lines, before_lines):
    before, after = _parse(before_lines), _parse(after_lines)
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, ""), after.get(name, "")
        if old != new:
            action = "installed" if not old else "removed" if not new else "upgraded"
            changes.append({"package": name, "from": old, "to": new, "action": action})
    return changes


class FilterModule:
    def filters(self):
        return {"package_changes": package_changes}
