import test from 'ava';
import { maskPassword } from '../loaders/index.ts';

test('a password in the URL is masked for printing', (t) => {
  t.is(
    maskPassword('postgres://etl:S3cret@db.internal:5432/warehouse'),
    'postgres://etl:***@db.internal:5432/warehouse',
  );
});

test('a password given as a query parameter is masked too, the other parameters kept', (t) => {
  const shown = maskPassword(
    'postgres://etl@db.internal/warehouse?password=S3cretPw&sslmode=require&sslpassword=k',
  );
  t.false(shown.includes('S3cretPw'));
  t.is(shown, 'postgres://etl@db.internal/warehouse?password=***&sslmode=require&sslpassword=***');
});

test('a libpq keyword string is masked', (t) => {
  t.is(maskPassword("host=db password='a secret' user=etl"), 'host=db password=*** user=etl');
});
