"""Lays the tree of a git revision into a directory, rewriting only the files that changed (so
SwiftPM rebuilds only what a new revision touched). Usage: snapshot.py REPO REV DEST"""
import io, os, subprocess, sys, tarfile

repo, rev, dest = sys.argv[1:4]
archive = subprocess.run(["git", "-C", repo, "archive", "--format=tar", rev], check=True, capture_output=True).stdout
wanted = set()
with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
    for member in tar:
        if not member.isfile():
            continue
        wanted.add(member.name)
        path = os.path.join(dest, member.name)
        data = tar.extractfile(member).read()
        try:
            with open(path, "rb") as existing:
                if existing.read() == data:
                    continue
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(data)
        os.chmod(path, member.mode)
for directory, _, files in os.walk(dest):
    for name in files:
        path = os.path.join(directory, name)
        if os.path.relpath(path, dest) not in wanted:
            os.remove(path)
