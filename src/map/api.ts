// The live map's reads of the API, with the key the user gave (in a header, never in the URL).

/** One GET; the API's error message when it refuses. */
export async function api<T>(key: string, path: string): Promise<T> {
  const response = await fetch(path, { headers: { 'x-integration-key': key } });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(response.status === 401 ? 'the key was refused' : body?.error?.message ?? `${path} answered ${response.status}`);
  }
  return (await response.json()) as T;
}

/** Every page of a list route. */
export async function all<T>(key: string, path: string, query = ''): Promise<T[]> {
  const results: T[] = [];
  for (let next: string | null = `${path}?limit=100${query === '' ? '' : `&${query}`}`; next !== null; ) {
    const page: { next: string | null; results: T[] } = await api(key, next);
    results.push(...page.results);
    next = page.next;
  }
  return results;
}
