"""fer - facial-expression recognition from Python, over libfer (ctypes).

    import fer
    fer.detect_emotions("photo.jpg")
    # [{"box": [x, y, w, h], "emotions": {"angry": 0.01, ..., "neutral": 0.02}}, ...]

    model = fer.Model("cfg/vgg_fer48.cfg", "weights/vgg_fer48.weights")
    model.detect_emotions(image, detect=True)

An image is a path (str), the bytes of an image file (PGM/PPM, and PNG/JPEG when
libfer was built with stb), or a numpy array (H x W gray, H x W x 3 RGB;
uint8 0..255 or float 0..1; bgr=True for OpenCV's channel order). Faces are
found with a Haar cascade (Debian's opencv-data) when the image is larger
than twice the network's input; a smaller image is taken as one face crop.
Only the standard library is needed (numpy only for arrays). Errors are
fer.Error with libfer's message.
"""
import ctypes
import ctypes.util
import os
import tempfile

__all__ = ["Error", "Model", "detect_emotions", "version"]

# where `make install` put libfer.so (rewritten at install)
_LIBDIR = None

MAX_FACES = 256
_MAX_CLASSES = 64   # FER_MAX_FACE_CLASSES in fer.h


class Error(RuntimeError):
    """A failure reported by libfer (its message)."""


class _Err(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 1024)]


class _Image(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_float))]


class _Box(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class _Face(ctypes.Structure):
    _fields_ = [("box", _Box), ("label", ctypes.c_int), ("probs", ctypes.c_float * _MAX_CLASSES)]


def _candidates():
    env = os.environ.get("FER_LIBRARY")
    if env:
        yield env
    if _LIBDIR:
        yield os.path.join(_LIBDIR, "libfer.so.1")
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, "..", "..", "..", "libfer.so"))   # the repository's build
    found = ctypes.util.find_library("fer")
    if found:
        yield found


def _load_library():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = _declare(ctypes.CDLL(path))
            lib.fer_path = path
            return lib
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc))
    raise Error("libfer.so not found (tried: %s); build it with make, install it with make install, "
                "or set FER_LIBRARY" % ", ".join(tried) if tried else "libfer.so not found")


def _declare(lib):
    P = ctypes.POINTER
    err, vp, ip = P(_Err), ctypes.c_void_p, ctypes.c_int
    sigs = {
        "fer_version": (ctypes.c_char_p, []),
        "fer_model_load": (ip, [P(vp), ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, vp, err]),
        "fer_model_load_default": (ip, [P(vp), vp, err]),
        "fer_model_classes": (ip, [vp]),
        "fer_model_class_name": (ctypes.c_char_p, [vp, ip]),
        "fer_model_faces": (ip, [vp, P(_Image), ip, P(_Face), ip, P(ip), err]),
        "fer_model_free": (None, [vp]),
        "fer_image_load": (ip, [P(_Image), ctypes.c_char_p, err]),
        "fer_image_free": (None, [P(_Image)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


_lib = None


def _library():
    global _lib
    if _lib is None:
        _lib = _load_library()
    return _lib


def _beside_library(lib):
    """The default model of the repository libfer.so was built in, if any."""
    root = os.path.dirname(os.path.abspath(lib.fer_path))
    cfg, weights = os.path.join(root, "cfg", "shallow.cfg"), os.path.join(root, "weights", "shallow.weights")
    return (cfg, weights) if os.path.exists(cfg) and os.path.exists(weights) else None


def version():
    """libfer's version, e.g. "1.0.0"."""
    return _library().fer_version().decode()


def _path_arg(p):
    return None if p is None else os.fsencode(p)


class _LoadedImage:
    """A fer_image from a path, bytes or an array; frees what libfer allocated."""

    def __init__(self, image, bgr):
        self.im = _Image()
        self.owned_by_fer = False
        self._keep = None
        if isinstance(image, (str, os.PathLike)):
            self._load_path(image)
        elif isinstance(image, (bytes, bytearray, memoryview)):
            self._load_bytes(bytes(image))
        else:
            self._from_array(image, bgr)

    def _load_path(self, path):
        e = _Err()
        if _library().fer_image_load(ctypes.byref(self.im), os.fsencode(path), ctypes.byref(e)):
            raise Error(e.msg.decode(errors="replace"))
        self.owned_by_fer = True

    def _load_bytes(self, data):
        fd, tmp = tempfile.mkstemp(prefix="fer-", suffix=".img")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._load_path(tmp)
        finally:
            os.unlink(tmp)

    def _from_array(self, a, bgr):
        try:
            import numpy as np
        except ImportError:
            raise TypeError("fer: an image is a path, the bytes of an image file, or a numpy array") from None
        if hasattr(a, "convert") and hasattr(a, "size"):   # a PIL image
            a = np.asarray(a.convert("RGB"))
        a = np.asarray(a)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[:, :, :3]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3) or a.size == 0:
            raise ValueError("fer: an image array is H x W or H x W x 3, not %s" % (a.shape,))
        scale = 255.0 if a.dtype == np.uint8 else 1.0
        planar = a.astype(np.float32) / scale
        if planar.ndim == 3:
            if bgr:
                planar = planar[:, :, ::-1]
            planar = planar.transpose(2, 0, 1)
        planar = np.ascontiguousarray(planar, dtype=np.float32)
        self._keep = planar
        h, w = a.shape[:2]
        self.im.w, self.im.h, self.im.c = w, h, 1 if a.ndim == 2 else 3
        self.im.data = planar.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

    def close(self):
        if self.owned_by_fer:
            _library().fer_image_free(ctypes.byref(self.im))
            self.owned_by_fer = False


class Model:
    """A network with its class names: Model(cfg, weights, labels=None), or
    Model() for the default model (the shipped shallow network)."""

    def __init__(self, cfg=None, weights=None, labels=None):
        lib = _library()
        self._lib = lib
        self._m = ctypes.c_void_p()
        e = _Err()
        beside = _beside_library(lib)
        if cfg is None and weights is None and beside:
            cfg, weights = beside
        if cfg is None and weights is None:
            rc = lib.fer_model_load_default(ctypes.byref(self._m), None, ctypes.byref(e))
        else:
            rc = lib.fer_model_load(ctypes.byref(self._m), _path_arg(cfg), _path_arg(weights), _path_arg(labels),
                                    None, ctypes.byref(e))
        if rc:
            self._m = None
            raise Error(e.msg.decode(errors="replace"))
        n = lib.fer_model_classes(self._m)
        self.classes = [lib.fer_model_class_name(self._m, k).decode() for k in range(n)]

    def detect_emotions(self, image, detect=None, bgr=False):
        """Faces and their emotions: [{"box": [x, y, w, h], "emotions": {name: p}}].
        detect: None (auto: when the image is larger than twice the network's
        input), True (find faces) or False (the image is one face crop)."""
        mode = -1 if detect is None else (1 if detect else 0)
        img = _LoadedImage(image, bgr)
        faces = (_Face * MAX_FACES)()
        n = ctypes.c_int(0)
        e = _Err()
        try:
            rc = self._lib.fer_model_faces(self._m, ctypes.byref(img.im), mode, faces, MAX_FACES, ctypes.byref(n),
                                           ctypes.byref(e))
        finally:
            img.close()
        if rc:
            raise Error(e.msg.decode(errors="replace"))
        out = []
        for f in faces[:n.value]:
            out.append({"box": [f.box.x, f.box.y, f.box.w, f.box.h],
                        "emotions": {name: float(f.probs[k]) for k, name in enumerate(self.classes)}})
        return out

    def close(self):
        if self._m:
            self._lib.fer_model_free(self._m)
            self._m = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_default = None


def detect_emotions(image, detect=None, bgr=False):
    """fer.Model().detect_emotions(image) with the default model, loaded once."""
    global _default
    if _default is None:
        _default = Model()
    return _default.detect_emotions(image, detect=detect, bgr=bgr)
