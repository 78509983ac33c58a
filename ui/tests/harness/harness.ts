// The real App against a fake shell, through @tauri-apps/api's mockIPC: what the browser tests
// and the scrolling benchmark load. `window.fake` lets a test play the shell's part.
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { FakeShell } from './fake';

const fake = new FakeShell();
fake.systemLanguage = new URLSearchParams(location.search).get('system_language') ?? 'en';
mockWindows('main');
mockIPC((cmd, args) => fake.handle(cmd, args as Record<string, unknown> | undefined), {
  shouldMockEvents: true,
});
(window as unknown as { fake: FakeShell }).fake = fake;
// The app starts only once the mocks are in place.
await import('../../src/main');
