#!/usr/bin/python3
"""tests/data/array/make_npy.py - wrote the .npy files beside it, once,
with Debian's NumPy (python3-numpy 1.24); they are checked in so that the
tests read files NumPy itself wrote without needing NumPy.

    /usr/bin/python3 tests/data/array/make_npy.py tests/data/array
"""
import sys

import numpy as np

out = sys.argv[1]
# float64, C order: 0.5 * arange(12) as 3 x 4
np.save(f'{out}/f8_3x4.npy', (np.arange(12, dtype='<f8') * 0.5).reshape(3, 4))
# int64, Fortran order: arange(12) as 3 x 4, laid out column by column
np.save(f'{out}/i8_fortran_3x4.npy',
        np.asfortranarray(np.arange(12, dtype='<i8').reshape(3, 4) - 5))
# big-endian float32 (read as float64)
np.save(f'{out}/f4_big_5.npy', np.array([1.5, -2, 3.25, 0, 1e10], dtype='>f4'))
# bool, 2 x 3
np.save(f'{out}/b1_2x3.npy', np.array([[True, False, True],
                                       [False, False, True]]))
# a 0-d int32 scalar (read as int64)
np.save(f'{out}/i4_scalar.npy', np.array(-7, dtype='<i4'))
