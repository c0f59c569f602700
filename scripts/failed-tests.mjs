// Prints every failed test in the given TRX reports, with the first lines of its message, so a
// CI log always names what failed even when the test output above it is long.
// Usage: node scripts/failed-tests.mjs REPORT.trx ...
import { readFileSync } from 'node:fs';

const decode = (text) => text
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  .replace(/&#x([0-9a-fA-F]+);/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
  .replace(/&#([0-9]+);/g, (_, dec) => String.fromCodePoint(parseInt(dec, 10)))
  .replace(/&amp;/g, '&');

let failures = 0;
for (const file of process.argv.slice(2)) {
  const trx = readFileSync(file, 'utf8');
  const results = trx.match(/<UnitTestResult\b[\s\S]*?(?:\/>|<\/UnitTestResult>)/g) ?? [];
  for (const result of results) {
    const outcome = /\boutcome="([^"]*)"/.exec(result)?.[1];
    if (outcome === 'Passed' || outcome === 'NotExecuted') continue;
    failures++;
    const name = decode(/\btestName="([^"]*)"/.exec(result)?.[1] ?? '(unnamed test)');
    const duration = /\bduration="([^"]*)"/.exec(result)?.[1] ?? '?';
    const message = decode(/<Message>([\s\S]*?)<\/Message>/.exec(result)?.[1] ?? '').trim();
    const stack = decode(/<StackTrace>([\s\S]*?)<\/StackTrace>/.exec(result)?.[1] ?? '').trim();
    console.log(`FAILED ${name} (${outcome}, ${duration})`);
    for (const line of message.split('\n').slice(0, 12)) console.log(`    ${line}`);
    for (const line of stack.split('\n').filter((l) => l.includes('GrantSilo')).slice(0, 6)) console.log(`    ${line.trim()}`);
  }
}
if (failures > 0) console.log(`${failures} failed test(s) listed above.`);
