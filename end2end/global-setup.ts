// The server is started by scripts/test.sh: wait until it answers.
export default async function globalSetup() {
  const url = (process.env.BASE_URL ?? "http://127.0.0.1:3000") + "/api/health";
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`server at ${url} did not come up`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
