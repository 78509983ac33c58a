// In-page driver: builds deterministic Files and uploads them with the real resumable.js
// or flow.js, resolving when the library says it is done (or paused). The Node test
// calls `window.T.upload(...)` through Playwright and checks the results on disk.
import { makeBytes, seedFor } from '/gen.mjs';

/** A File with deterministic content; `path` (e.g. "a/b/c.bin") becomes its relative path. */
function makeFile(spec) {
  const bytes = makeBytes(seedFor(spec), spec.size);
  const file = new File([bytes], spec.name, { type: spec.type ?? '' });
  // Both libraries read `file.relativePath` before webkitRelativePath (read-only, empty
  // for a constructed File): the same property a folder drop would fill in.
  if (spec.path) file.relativePath = spec.path;
  return file;
}

/** Counts the chunks a library file object has finished (tested present or posted). */
function chunksDone(file) {
  return file.chunks.filter((chunk) => chunk.status() === 'success').length;
}

/** Calls `then` once no chunk of the current instance is uploading and none has finished for 300 ms. */
function quiet(then) {
  let last = -1;
  let still = 0;
  const tick = () => {
    const files = window.currentInstance.files;
    const done = files.reduce((sum, file) => sum + chunksDone(file), 0);
    const busy = files.some((file) => file.chunks.some((chunk) => chunk.status() === 'uploading'));
    still = !busy && done === last ? still + 1 : 0;
    last = done;
    if (still >= 6) then();
    else setTimeout(tick, 50);
  };
  tick();
}

/**
 * Uploads `specs` with library `lib` ('resumable' or 'flow') to `target`.
 * options: library options (merged over ours); pauseAfterChunks: call the library's
 * pause() once a file has that many chunks done, and resolve when all is quiet;
 * timeoutMs: reject with the library's state after that long.
 * Resolves with { files, rejected, completeEvents, paused, added }: `files` holds one
 * entry per fileSuccess/fileError, `added` the chunk counts of every file accepted.
 */
async function upload(lib, target, specs, extra = {}) {
  return uploadFiles(lib, target, specs.map(makeFile), extra);
}

/**
 * Uploads the files picked in the page's `<input id="pick">` (Playwright's setInputFiles puts
 * files from disk there, so the browser reads them as it reads a user's pick) with the
 * library's own defaults and `options` over them: the benchmark of scripts/bench_link.sh.
 * Each run gets identifiers of its own (the receiver remembers finished uploads by
 * identifier). Resolves like `upload`, plus `elapsedMs` from the first addFiles to the end.
 */
async function uploadPicked(lib, target, { options = {}, timeoutMs = 600000 } = {}) {
  const files = [...document.getElementById('pick').files];
  const run = `${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const generateUniqueIdentifier = (file) => `bench-${run}-${file.size}-${file.name.replace(/[^0-9a-zA-Z_-]/g, '')}`;
  return uploadFiles(lib, target, files, { options: { generateUniqueIdentifier, ...options }, timeoutMs, libraryDefaults: true });
}

/**
 * The shared body of `upload` and `uploadPicked`. With `libraryDefaults`, only `target` and
 * `options` are given to the library (no chunk size, parallelism or test GETs of ours).
 */
async function uploadFiles(lib, target, files, { options = {}, pauseAfterChunks = null, timeoutMs = 45000, libraryDefaults = false } = {}) {
  const results = new Map(); // identifier -> result
  const rejected = [];
  let completeEvents = 0;
  let paused = false;

  const common = libraryDefaults
    ? { target }
    : {
        target,
        chunkSize: 64 * 1024,
        simultaneousUploads: 3,
        testChunks: true,
      };
  let instance;
  if (lib === 'resumable') {
    instance = new Resumable({
      ...common,
      // The library's default is alert(); record the refusal instead.
      minFileSizeErrorCallback: (file) => rejected.push({ name: file.name, size: file.size, why: 'minFileSize' }),
      ...options,
    });
    if (!instance.support) throw new Error('resumable.js says this browser is not supported');
  } else if (lib === 'flow') {
    instance = new Flow({ ...common, ...options });
    if (!instance.support) throw new Error('flow.js says this browser is not supported');
  } else {
    throw new Error(`unknown library ${lib}`);
  }

  window.currentInstance = instance;
  const record = (file, ok, message) => {
    results.set(file.uniqueIdentifier, {
      name: file.name ?? file.fileName,
      relativePath: file.relativePath,
      size: file.size,
      identifier: file.uniqueIdentifier,
      totalChunks: file.chunks.length,
      ok,
      message: String(message ?? ''),
    });
  };

  const started = performance.now();
  return await new Promise((resolve, reject) => {
    let added = [];
    const summary = () => ({
      elapsedMs: performance.now() - started,
      files: [...results.values()],
      rejected,
      completeEvents,
      paused,
      added: added.map((f) => ({
        name: f.name ?? f.fileName,
        identifier: f.uniqueIdentifier,
        totalChunks: f.chunks.length,
        chunksDone: chunksDone(f),
        uploading: f.chunks.filter((chunk) => chunk.status() === 'uploading').length,
      })),
    });
    const timer = setTimeout(() => {
      reject(new Error(`${lib}: no completion after ${timeoutMs} ms: ${JSON.stringify(summary())}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      resolve(summary());
    };

    instance.on('fileSuccess', (file, message) => record(file, true, message));
    instance.on('fileError', (file, message) => record(file, false, message));
    instance.on('complete', () => {
      completeEvents += 1;
      if (!paused && added.length > 0 && results.size === added.length) finish();
    });
    if (pauseAfterChunks !== null) {
      instance.on('fileProgress', (file) => {
        if (!paused && chunksDone(file) >= pauseAfterChunks) {
          paused = true;
          // Pause from a task of its own, as a Pause button does. (Called inside this
          // handler, resumable.js's pause() would not stop anything: right after the
          // handler returns, the library starts the next chunk.)
          setTimeout(() => {
            instance.pause(); // aborts the chunks in flight
            quiet(finish);
          }, 0);
        }
      });
    }

    if (lib === 'resumable') {
      // resumable.js cuts chunks in setTimeout callbacks: start once they exist.
      instance.on('filesAdded', (addedFiles) => {
        added = addedFiles;
        instance.upload();
      });
      // A file refused by minFileSize (0 bytes) ends resumable.js's loop over the batch
      // early, so neither the rest of the batch nor `filesAdded` would follow: add the
      // files it will refuse on their own.
      const tooSmall = files.filter((file) => file.size < 1);
      const rest = files.filter((file) => file.size >= 1);
      for (const file of tooSmall) instance.addFile(file);
      if (rest.length > 0) instance.addFiles(rest);
      else finish(); // all refused: no filesAdded
    } else {
      instance.addFiles(files);
      added = instance.files.slice();
      instance.upload();
    }
    document.getElementById('state').textContent = `uploading with ${lib}`;
  });
}

window.T = { upload, uploadPicked, makeFile };
document.getElementById('state').textContent = 'ready';
