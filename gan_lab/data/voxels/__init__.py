"""Voxel data sets (batch kind ``voxels``): procedural primitives (``data=primitives3d``) and a
folder of voxelized shapes, e.g. ModelNet or ShapeNet (``data=voxel_folder``)."""

from gan_lab.data.voxels.base import VoxelDataModule, VoxelTensorDataset, resample_voxels
from gan_lab.data.voxels.folders import VoxelFolderDataModule, read_binvox, read_voxel_file
from gan_lab.data.voxels.primitives import CLASS_NAMES, Primitives3DDataModule

__all__ = [
    "CLASS_NAMES",
    "Primitives3DDataModule",
    "VoxelDataModule",
    "VoxelFolderDataModule",
    "VoxelTensorDataset",
    "read_binvox",
    "read_voxel_file",
    "resample_voxels",
]
