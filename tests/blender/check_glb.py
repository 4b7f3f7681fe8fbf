"""Blender check: import a GLB and print its shape keys and actions as JSON (run by tests/test_export_blender.py).

blender --background --factory-startup --python tests/blender/check_glb.py -- file.glb
Also a manual check: open the printed names against what the export wrote.
"""

import json
import sys

import bpy
import numpy

# Debian's Blender 3.4 glTF importer still uses np.bool, which numpy 1.24 (Debian 12) removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

path = sys.argv[sys.argv.index("--") + 1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=path)
shape_keys = {}
for obj in bpy.data.objects:
    if obj.type == "MESH" and obj.data.shape_keys:
        shape_keys[obj.name] = [key.name for key in obj.data.shape_keys.key_blocks if key.name != "Basis"]
actions = {}
for action in bpy.data.actions:
    actions[action.name] = {"frame_range": list(action.frame_range), "fcurves": len(action.fcurves),
                            "keyframes": max((len(c.keyframe_points) for c in action.fcurves), default=0)}
print("AVATARLAB_JSON " + json.dumps({"shape_keys": shape_keys, "actions": actions}))
