import test from 'ava';
import { freshness, schedulePeriodSeconds } from '../ui/freshness.ts';
import { html, jsonData } from '../ui/templates/html.ts';
import { isLoopback } from '../ui/index.ts';
import { memberHandles } from '../ui/security/member-handle.ts';

test('member data never becomes markup: every interpolated value is escaped', (t) => {
  const name = `<script>alert("x")</script><img src=x onerror='y'>&`;
  t.is(
    html`<td title="${name}">${name}</td>`.text,
    '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;">' +
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;</td>',
  );
  t.is(html`<p>${[html`<b>${'<i>'}</b>`, null, undefined, false, 0]}</p>`.text, '<p><b>&lt;i&gt;</b>0</p>');
});

test('a chart data block cannot be closed by a value in it', (t) => {
  const block = jsonData('c', { label: '</script><script>alert(1)</script>' }).text;
  t.is(block.match(/<\/script>/g)?.length, 1, 'only the block’s own end tag');
  t.deepEqual(JSON.parse(block.replace(/^<script[^>]*>|<\/script>$/g, '')), {
    label: '</script><script>alert(1)</script>',
  });
});

test('a scheduled source is late once its last success is older than two periods', (t) => {
  t.is(schedulePeriodSeconds('0 2 * * *'), 86_400);
  t.is(schedulePeriodSeconds('*/15 * * * *'), 900);
  t.is(freshness('0 2 * * *', 86_400 * 1.5), 'ok');
  t.is(freshness('0 2 * * *', 86_400 * 2 + 1), 'late');
  t.is(freshness(undefined, 10 * 86_400), 'manual');
  t.is(freshness('0 2 * * *', null), 'never succeeded');
});

test('only loopback addresses count as loopback', (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
    t.true(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', 'example.com', '::ffff:10.0.0.1'])
    t.false(isLoopback(host), host);
});

test('a member handle opens only in the process that sealed it, and not once altered', (t) => {
  const handles = memberHandles();
  const key = { source: 'payer', patientId: 'pt-1' };
  const handle = handles.seal(key);
  t.deepEqual(handles.open(handle), key);
  t.false(handle.includes('pt-1'));
  t.is(memberHandles().open(handle), null, 'another console (or a restart) cannot open it');
  const altered = `${handle.slice(0, 20)}${handle[20] === 'A' ? 'B' : 'A'}${handle.slice(21)}`;
  t.is(handles.open(altered), null);
  t.is(handles.open('not-a-handle'), null);
});
