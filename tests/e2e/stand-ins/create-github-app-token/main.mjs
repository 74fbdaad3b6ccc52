// The stand-in's code: see action.yml. Node's own modules only (nothing to install).
import { createSign } from "node:crypto";
import { appendFileSync } from "node:fs";

const input = (name) => (process.env[`INPUT_${name.toUpperCase()}`] || "").trim();

// What the real action's lib/get-permissions-from-inputs.js does: every non-empty
// INPUT_PERMISSION-* variable, its name lower-cased with hyphens as underscores.
function permissionsFromInputs(env) {
  let permissions;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("INPUT_PERMISSION-") || !value) continue;
    const name = key.slice("INPUT_PERMISSION-".length).toLowerCase().replaceAll("-", "_");
    permissions = { ...(permissions || {}), [name]: value };
  }
  return permissions;
}

function jwt(appId, privateKey) {
  const encode = (part) => Buffer.from(JSON.stringify(part)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({
    iat: now - 30,
    exp: now + 9 * 60,
    iss: appId,
  })}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKey, "base64url");
  return `${unsigned}.${signature}`;
}

async function request(api, method, path, token, body) {
  const answer = await fetch(`${api}${path}`, {
    method,
    headers: {
      accept: "application/vnd.github+json",
      authorization: `bearer ${token}`,
      "x-github-api-version": "2022-11-28",
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
  return JSON.parse(text);
}

async function main() {
  const api = input("github-api-url").replace(/\/$/, "");
  // Escaped newlines, as @octokit/auth-app accepts them.
  const privateKey = input("private-key").replaceAll("\\n", "\n");
  const owner = input("owner") || process.env.GITHUB_REPOSITORY_OWNER;
  const repositories = input("repositories").split(/[\n,]+/).map((s) => s.trim()).filter(Boolean);
  if (!input("app-id") || !privateKey || repositories.length === 0) {
    throw new Error("the stand-in needs app-id, private-key and repositories");
  }
  const signed = jwt(input("app-id"), privateKey);
  const installation = await request(api, "GET", `/repos/${owner}/${repositories[0]}/installation`, signed);
  const permissions = permissionsFromInputs(process.env);
  const made = await request(api, "POST", `/app/installations/${installation.id}/access_tokens`, signed, {
    repositories,
    ...(permissions ? { permissions } : {}),
  });
  console.log(`::add-mask::${made.token}`);
  appendFileSync(process.env.GITHUB_OUTPUT, `token=${made.token}\n`);
  console.log(`Created a token for ${repositories.join(", ")} with ${JSON.stringify(made.permissions)}`);
}

main().catch((error) => {
  console.log(`::error::stand-in create-github-app-token: ${error.message}`);
  process.exitCode = 1;
});
