// Counted nouns for people: "1 file", "2 files", "10,000 files". One place, so no label
// says "1 files" and every number is grouped the same way.

/** "1 file", "3 files", "1,200 files" (`many` for irregular plurals). */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
