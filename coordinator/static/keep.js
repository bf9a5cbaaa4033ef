// What survives a reload: the last project loaded, in IndexedDB (a project can be larger than
// localStorage allows). The settings and the range live beside it in localStorage
// (settings.js). Failures only cost the convenience: private windows may refuse storage.

const DB = "framefarm";
const STORE = "kept";
const KEY = "project";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** Keep `project` (loaded from `source`) for the next visit. */
export async function keepProject(project, source) {
  try {
    await run("readwrite", (store) => store.put({ project, source }, KEY));
  } catch {
    // storage refused: the next visit starts empty
  }
}

/** The project kept by the last visit, as {project, source}, or null. */
export async function keptProject() {
  try {
    const kept = await run("readonly", (store) => store.get(KEY));
    return kept && typeof kept.project === "object" ? kept : null;
  } catch {
    return null;
  }
}
