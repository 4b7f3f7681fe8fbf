"""Render the default avatar for the docs with Blender's Cycles on the CPU (no display needed).

blender --background --factory-startup --python docs/images/render_avatar.py -- head.glb out.png [shape=weight ...]
"""

import math
import sys

import bpy
import numpy

# Debian's Blender 3.4 glTF importer still uses np.bool, which numpy 1.24 (Debian 12) removed.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

args = sys.argv[sys.argv.index("--") + 1:]
glb, out, settings = args[0], args[1], args[2:]

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=glb)
scene = bpy.context.scene
for item in settings:
    key, value = item.split("=")
    for obj in scene.objects:
        keys = obj.data.shape_keys if obj.type == "MESH" else None
        if keys and key in keys.key_blocks:
            keys.key_blocks[key].value = float(value)
        if key in ("yaw", "pitch") and obj.name in ("LeftEye", "RightEye"):
            obj.rotation_mode = "XYZ"
            axis = 2 if key == "yaw" else 0  # glTF +Y is Blender +Z
            obj.rotation_euler[axis] = float(value)

camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
scene.collection.objects.link(camera)
camera.data.lens = 85
# glTF (x, y, z) -> Blender (x, -z, y): the face looks along Blender -Y
camera.location = (0.12, -0.7, 0.03)
direction = (0.0 - 0.12, 0.0 + 0.7, -0.02 - 0.03)
camera.rotation_euler = (math.atan2(math.hypot(direction[0], direction[1]), -direction[2]), 0,
                         math.atan2(direction[1], direction[0]) - math.pi / 2)
scene.camera = camera
for name, location, energy, size in (("Key", (0.5, -0.6, 0.5), 6, 0.5), ("Fill", (-0.6, -0.4, 0.1), 2.5, 0.8),
                                     ("Rim", (0.0, 0.6, 0.4), 4, 0.4)):
    light = bpy.data.objects.new(name, bpy.data.lights.new(name, "AREA"))
    light.data.energy, light.data.size = energy, size
    light.location = location
    constraint = light.constraints.new("TRACK_TO")
    target = bpy.data.objects.new(name + "Target", None)
    scene.collection.objects.link(target)
    constraint.target = target
    scene.collection.objects.link(light)
world = bpy.data.worlds.new("World")
world.use_nodes = True
world.node_tree.nodes["Background"].inputs[0].default_value = (0.55, 0.6, 0.68, 1)
world.node_tree.nodes["Background"].inputs[1].default_value = 0.6
scene.world = world
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 48
scene.cycles.use_denoising = False
scene.render.resolution_x = scene.render.resolution_y = 560
scene.render.filepath = out
scene.view_settings.view_transform = "Standard"
bpy.ops.render.render(write_still=True)
