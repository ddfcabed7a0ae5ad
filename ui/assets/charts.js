// Draws each chart of a page from its JSON data block. The console's CSP allows no inline
// script, so the data travels as <script type="application/json"> and this file reads it.
(function drawCharts() {
  const palette = ['#2563eb', '#0d9488', '#d97706', '#7c3aed', '#dc2626', '#475569'];
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const block = document.getElementById(canvas.dataset.chart);
    if (!block) continue;
    const spec = JSON.parse(block.textContent);
    const twoAxes = spec.series.some((s) => s.axis === 'right');
    const chart = new Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map((s, i) => ({
          type: s.kind ?? spec.kind,
          label: s.label,
          data: s.values,
          yAxisID: s.axis === 'right' ? 'y1' : 'y',
          backgroundColor: palette[i % palette.length] + ((s.kind ?? spec.kind) === 'bar' ? 'cc' : '33'),
          borderColor: palette[i % palette.length],
          borderWidth: (s.kind ?? spec.kind) === 'bar' ? 0 : 2,
          pointRadius: (s.kind ?? spec.kind) === 'line' ? 2 : 0,
          fill: false,
          tension: 0.2,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: spec.horizontal ? 'y' : 'x',
        plugins: { legend: { display: spec.series.length > 1, position: 'bottom' } },
        scales: spec.horizontal
          ? { y: { ticks: { autoSkip: false } }, x: { beginAtZero: true } }
          : {
              x: { ticks: { autoSkip: true, maxRotation: 0 } },
              y: { beginAtZero: true, position: 'left' },
              ...(twoAxes
                ? { y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } }
                : {}),
            },
      },
    });
    canvas.dataset.rendered = String(chart.data.datasets.length);
  }
})();
